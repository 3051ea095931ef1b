// Issue 25, finding 9, through the built CLI (dist/cli.js, run `npm run build` first): inputs
// that exited 1 (or printed key bytes) exit 2 with "Invalid input: NAME: …", and nothing connects.
// The port the CLI is sent to is a listener here that counts connections: a refused input must
// leave it at zero, the key rows too (the SSH client reads the key before it opens a socket).

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_CLI, type RunResult, runAction, runCli, runNode } from '../helpers/dist';
import { throwawayPrivateKey } from '../helpers/keys';

const dir = mkdtempSync(join(tmpdir(), 'hostile-exit-codes-'));
const BUNDLED = resolve(__dirname, '../../compose');
const KEY = join(dir, 'key');

/** An OpenSSH key block whose bytes begin with a marker, not the OpenSSH magic. */
const MARKER = 'KEYBYTES-SECRET';
const CORRUPT_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(`${MARKER}${'x'.repeat(40)}`).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;

/** A copy of the bundled stack with one thing added, as a stack-dir. */
function stackWith(name: string, add: (d: string) => void): string {
  const d = join(dir, name);
  cpSync(BUNDLED, d, { recursive: true });
  add(d);
  return d;
}

let listener: Server;
let port = 0;
let connections = 0;

const base = () => [
  '--host',
  '127.0.0.1',
  '--port',
  String(port),
  '--username',
  'ec2-user',
  '--ssh-key-file',
  KEY,
  '--insecure-skip-host-key-check',
  'true',
  '--app-image',
  'me/app:1',
  '--connect-timeout',
  '2s',
];

// [what, arguments (the command, then flags after the base flags; made when the rows run), what stderr must match]
const ROWS: readonly (readonly [string, () => readonly string[], RegExp])[] = [
  ['rollback abc', () => ['rollback', 'abc'], /release: "abc" is not a release id: 12 hexadecimal/],
  ['rollback $(id)', () => ['rollback', '$(id)'], /release: "\$\(id\)" is not a release id/],
  ['rollback ../../etc', () => ['rollback', '../../etc'], /release: "\.\.\/\.\.\/etc" is not a release id/],
  [
    'stack-dir with a link out of it',
    () => ['deploy', '--stack-dir', stackWith('link', (d) => symlinkSync('/etc/passwd', join(d, 'passwd')))],
    /stack-dir: "passwd" is a symbolic link to \/etc\/passwd, which is outside the stack directory/,
  ],
  [
    'stack-dir with a line break in a name',
    () => ['deploy', '--stack-dir', stackWith('newline', (d) => writeFileSync(join(d, 'a\nb'), ''))],
    /stack-dir: "a\\nb" has a name with a line break/,
  ],
  [
    'stack-dir with a name starting with -',
    () => ['deploy', '--stack-dir', stackWith('dash', (d) => writeFileSync(join(d, '-rf'), ''))],
    /stack-dir: "-rf" has a name that starts with "-"/,
  ],
  [
    'stack-dir with a FIFO',
    () => ['deploy', '--stack-dir', stackWith('fifo', (d) => execFileSync('mkfifo', [join(d, 'pipe')]))],
    /stack-dir: "pipe" is a FIFO, not a regular file or directory/,
  ],
  [
    'stack-dir with a .manifest',
    () => ['deploy', '--stack-dir', stackWith('manifest', (d) => writeFileSync(join(d, '.manifest'), ''))],
    /stack-dir: "\.manifest" cannot be a stack file/,
  ],
  [
    'stack-dir /dev',
    () => ['deploy', '--stack-dir', '/dev'],
    /stack-dir: ".+" is (a character device|a symbolic link)/,
  ],
  [
    'stack-dir without the compose files',
    () => ['deploy', '--stack-dir', join(dir, 'empty')],
    /stack-dir: ".*empty" has no docker-compose-dev\.yml, but stacks includes "app"/,
  ],
  [
    'plan of a stack-dir without the compose files',
    () => ['plan', '--stack-dir', join(dir, 'empty')],
    /stack-dir: ".*empty" has no docker-compose-dev\.yml/,
  ],
  [
    'images naming an unknown service',
    () => ['deploy', '--images', 'nosuch=grafana/loki:3'],
    /images: "nosuch" is no service/,
  ],
  [
    'a corrupt key',
    () => ['deploy', '--ssh-key-file', join(dir, 'corrupt')],
    /ssh-key: the private key cannot be read: it is damaged or cut short/,
  ],
  [
    'a corrupt key, preflight',
    () => ['preflight', '--ssh-key-file', join(dir, 'corrupt')],
    /ssh-key: the private key cannot/,
  ],
  ['a corrupt key, check', () => ['check', '--ssh-key-file', join(dir, 'corrupt')], /ssh-key: the private key cannot/],
  [
    'an encrypted key without its passphrase',
    () => ['deploy', '--ssh-key-file', join(dir, 'encrypted')],
    /ssh-key-passphrase: empty, but the ssh-key is encrypted/,
  ],
  [
    'an encrypted key with a wrong passphrase',
    () => ['deploy', '--ssh-key-file', join(dir, 'encrypted'), '--ssh-key-passphrase', 'not-the-one'],
    /ssh-key-passphrase: it does not decrypt the ssh-key/,
  ],
];

const KEY_ROWS = /key/;
const results = new Map<string, RunResult>();
let connectionsAfterRows = -1;

beforeAll(async () => {
  listener = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((ok) => listener.listen(0, '127.0.0.1', ok));
  port = (listener.address() as { port: number }).port;
  writeFileSync(KEY, throwawayPrivateKey());
  writeFileSync(join(dir, 'corrupt'), CORRUPT_KEY);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'the-passphrase', '-f', join(dir, 'encrypted')]);
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'empty', 'README'), 'no compose files here\n');
  const queue = [...ROWS];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      const [command, ...rest] = row[1]();
      // plan takes no connection flags: it needs no host.
      const flags = command === 'plan' ? ['--app-image', 'me/app:1'] : base();
      results.set(row[0], await runCli([command ?? '', ...flags, ...rest], {}, 60_000));
    }
  };
  await Promise.all(Array.from({ length: Math.max(4, availableParallelism()) }, worker));
  connectionsAfterRows = connections;
}, 300_000);

afterAll(() => new Promise<void>((ok) => listener.close(() => ok())));

describe('inputs refused with exit 2 before any connection (built CLI)', () => {
  it('control: good flags do connect to the listener (and fail with 1: it speaks no SSH)', async () => {
    const before = connections;
    const r = await runCli(['preflight', ...base()]);
    expect(r.code).toBe(1);
    expect(connections).toBeGreaterThan(before);
  });

  it.each(ROWS.map((r) => [r[0], r[2]] as const))('%s', (what, message) => {
    const r = results.get(what);
    expect(r?.stderr).toMatch(message);
    expect(r?.stderr).toMatch(/^error: Invalid input: /m);
    expect(r?.stderr).not.toMatch(/unexpected/);
    // The key is read as the Connect step begins; everything else is refused before it.
    if (!KEY_ROWS.test(what)) expect(r?.stderr).not.toMatch(/Connect/);
    expect(r?.code).toBe(2);
  });

  it('no refused input reached the listener', () => {
    expect(results.size).toBe(ROWS.length);
    expect(connectionsAfterRows).toBe(0);
  });

  it("a corrupt key's bytes are printed nowhere, by the CLI or the action", async () => {
    for (const what of ['a corrupt key', 'a corrupt key, preflight', 'a corrupt key, check']) {
      const r = results.get(what);
      expect(`${r?.stdout}${r?.stderr}`).not.toContain(MARKER);
      expect(r?.stderr).not.toMatch(/magic/i);
    }
    const action = await runAction({
      INPUT_HOST: '127.0.0.1',
      INPUT_PORT: String(port),
      INPUT_USERNAME: 'ec2-user',
      'INPUT_SSH-KEY': CORRUPT_KEY,
      'INPUT_INSECURE-SKIP-HOST-KEY-CHECK': 'true',
      'INPUT_APP-IMAGE': 'me/app:1',
    });
    expect(action.code).toBe(1);
    expect(action.stdout).toMatch(/ssh-key: the private key cannot be read/);
    expect(`${action.stdout}${action.stderr}`).not.toContain(MARKER);
  });
});

/** As root, the CLI run as nobody sees what a user without read permission sees. */
const asNobody = process.getuid?.() === 0;

describe.skipIf(!asNobody)('a stack-dir with a part that cannot be read (run as nobody)', () => {
  it('exits 2 naming the path, not an unexpected error', async () => {
    const home = mkdtempSync(join(tmpdir(), 'hostile-nobody-'));
    chmodSync(home, 0o755);
    const cli = join(home, 'cli.js');
    copyFileSync(DIST_CLI, cli);
    chmodSync(cli, 0o644);
    const stack = join(home, 'stack');
    cpSync(BUNDLED, stack, { recursive: true });
    execFileSync('chmod', ['-R', 'a+rX', stack]);
    chmodSync(join(stack, 'grafana'), 0o700);
    const r = await runNode(
      '/usr/sbin/runuser',
      ['-u', 'nobody', '--', process.execPath, cli, 'plan', '--app-image', 'me/app:1', '--stack-dir', stack],
      {},
      60_000,
      true,
    );
    expect(r.stderr).toMatch(/Invalid input: stack-dir: "grafana" cannot be read \(permission denied\)/);
    expect(r.stderr).not.toMatch(/unexpected/);
    expect(r.code).toBe(2);
  });
});
