// Bad input gets a clear error naming the cause and the fix, and leaves the host as it was.

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerIds, deployWithAction, deployWithCli, hostSnapshot, sandboxInputs, sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';
import { type Variant, variantSandbox } from '../helpers/variants';

let s: Sandbox;
const variants: Variant[] = [];
beforeAll(async () => {
  s = loadSandbox();
  // A known good release to compare against (and to roll back to).
  const r = await deployWithCli(sandboxInputs(s));
  expect(r.code).toBe(0);
});
afterAll(() => {
  for (const v of variants) v.down();
});

/** Runs a failing deploy and checks the message and that the host did not change. */
async function failsCleanly(inputs: Record<string, string>, expected: (string | RegExp)[], sandbox = s) {
  const before = hostSnapshot(sandbox);
  const mainBefore = hostSnapshot(s);
  const r = await deployWithAction(inputs);
  expect(r.code).toBe(1);
  for (const e of expected) expect(r.stdout).toMatch(e);
  expect(r.stdout).toContain('Fix:');
  expect(hostSnapshot(sandbox)).toEqual(before);
  expect(hostSnapshot(s)).toEqual(mainBefore);
  return r;
}

function listen(handler: (sock: import('node:net').Socket) => void, port = 0, host = '127.0.0.1'): Promise<Server> {
  return new Promise((res) => {
    const srv = createServer(handler);
    srv.listen(port, host, () => res(srv));
  });
}

describe('connection errors', () => {
  it('an unreachable host: a connect timeout naming the host, the port and the firewall', async () => {
    // Accepts TCP but never speaks SSH, like a black-holed port behind a load balancer.
    const srv = await listen(() => {});
    const port = (srv.address() as { port: number }).port;
    const started = Date.now();
    await failsCleanly(sandboxInputs(s, { port: String(port), 'connect-timeout': '2s' }), [
      `Host unreachable: no SSH answer from 127.0.0.1:${port} within 2s`,
      /security group allows port \d+/,
    ]);
    expect(Date.now() - started).toBeLessThan(15_000);
    srv.close();
  });

  it('a port where nothing listens: connection refused', async () => {
    const srv = await listen(() => {});
    const port = (srv.address() as { port: number }).port;
    srv.close();
    // Refused is tried again within connect-timeout (a host still booting): 3 s keeps this short.
    await failsCleanly(sandboxInputs(s, { port: String(port), 'connect-timeout': '3s' }), [
      `Connection refused by 127.0.0.1:${port}`,
      'sshd is running',
    ]);
  });

  it('authentication refused: a key the host does not know', async () => {
    await failsCleanly(sandboxInputs(s, { 'ssh-key': s.unauthorizedKey }), [
      `Authentication refused: 127.0.0.1:${s.port} did not accept the key for user "${s.user}"`,
      'authorized_keys',
    ]);
  });

  it('a wrong key passphrase', async () => {
    await failsCleanly(
      sandboxInputs(s, { 'ssh-key': s.keyWithPassphrase, 'ssh-key-passphrase': 'not-the-passphrase' }),
      ['ssh-key-passphrase: it does not decrypt the ssh-key (a wrong passphrase for this key)'],
    );
  });

  it('the right passphrase and an RSA key both work', async () => {
    const a = await deployWithCli(
      sandboxInputs(s, { 'ssh-key': s.keyWithPassphrase, 'ssh-key-passphrase': s.passphrase }),
    );
    expect(a.code).toBe(0);
    const b = await deployWithCli(sandboxInputs(s, { 'ssh-key': s.rsaKey }));
    expect(b.code).toBe(0);
  });
});

describe('host errors', () => {
  it('a login user not in the docker group and without sudo', async () => {
    const v = variantSandbox('nodocker', s, '--no-docker-group', '--no-sudo');
    variants.push(v);
    await failsCleanly(
      sandboxInputs(v.sandbox),
      [`user "md-nodocker" cannot use it`, 'sudo usermod -aG docker md-nodocker'],
      v.sandbox,
    );
  });

  it('no sudo when swap is needed', async () => {
    const v = variantSandbox('nosudo', s, '--no-sudo');
    variants.push(v);
    await failsCleanly(
      sandboxInputs(v.sandbox, { 'swap-size': '4G' }),
      ['adding swap needs root, but "md-nosudo" has no passwordless sudo. Nothing was changed.', 'set swap-size: 0'],
      v.sandbox,
    );
  });

  it('no Compose on the host', async () => {
    const v = variantSandbox('nocompose', s, '--compose', 'none');
    variants.push(v);
    await failsCleanly(
      sandboxInputs(v.sandbox),
      ['Docker Compose is not installed', 'docker-compose-plugin'],
      v.sandbox,
    );
  });

  it('Compose v1 older than 1.28 (no profiles): refused at preflight with the version and the fix', async () => {
    const v = variantSandbox('oldcompose', s, '--compose', 'v1-old');
    variants.push(v);
    await failsCleanly(
      sandboxInputs(v.sandbox),
      ['Docker Compose 1.27.4 (v1) is too old: the stack uses profiles', 'docker-compose 1.28 or newer'],
      v.sandbox,
    );
  });

  it('an invalid compose file: compose rejects it on the host, nothing running is touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-broken-'));
    cpSync(resolve(__dirname, '../../compose'), dir, { recursive: true });
    const f = join(dir, 'docker-compose-dev-monitoring.yml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('mem_limit: 256m', 'mem_limit: a-lot'));
    const ids = containerIds();
    await failsCleanly(sandboxInputs(s, { 'stack-dir': dir }), [
      'docker compose rejected the monitoring stack',
      'nothing running was changed',
    ]);
    expect(containerIds()).toEqual(ids);
    expect(sh(`ls -a ${s.home}/monitoring`)).not.toContain('.staging');
  });

  it('a disk too small for the stack: refused before anything is written, naming the shortfall and the fix', async () => {
    // remote-dir on a filesystem of its own with 96 MiB: the app's logs alone may take 256 MiB.
    const small = `${s.home}/small-disk`;
    sh(`mkdir -p ${small} && mount -t tmpfs -o size=96m,uid=$(id -u ${s.user}) tmpfs ${small}`);
    try {
      const remoteDir = `${small}/monitoring`;
      const before = hostSnapshot(s, remoteDir);
      const r = await deployWithCli(sandboxInputs(s, { 'remote-dir': remoteDir }));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("The stack does not fit on the host's disk; nothing was changed:");
      expect(r.stderr).toMatch(
        new RegExp(
          `the filesystem of ${small} \\(remote-dir\\) has 9\\d MiB free; the stack may still take 6\\d\\d MiB there \\(app log files 256 MiB, Grafana data 256 MiB, nginx log files 100 MiB`,
        ),
      );
      expect(r.stderr).toMatch(/and 512 MiB stay free for the host: 1\.0 GiB short/);
      expect(r.stderr).toMatch(/Fix: set a smaller app-logs-disk-budget; or give the host a bigger volume/);
      const steps = (r.json.steps as { name: string; status: string }[]).map((x) => `${x.name}=${x.status}`);
      expect(steps.slice(-2)).toEqual(['Lock=ok', 'Disk budget=failed']);
      expect(hostSnapshot(s, remoteDir)).toEqual(before);
      expect(sh(`ls -A ${small}`)).toBe('');
    } finally {
      sh(`umount ${small} && rmdir ${small}`);
    }
  });
});

describe('errors while the stacks start (after the files changed: rolled back)', () => {
  it('an image that cannot be pulled', async () => {
    const images = s.images.replace(/^grafana=.*$/m, 'grafana=sandbox/does-not-exist:1');
    const r = await deployWithAction(sandboxInputs(s, { images }));
    expect(r.code).toBe(1);
    // Compose may or may not name the service whose image is missing; either way the image is named.
    expect(r.stdout).toMatch(
      /The image sandbox\/does-not-exist:1(?: \(service grafana\))? is not on the host, and pull: never forbids pulling it/,
    );
    expect(r.stdout).toMatch(/Rolled back to release [0-9a-f]{12}, which is healthy again/);
    expect(sh("docker inspect -f '{{.Config.Image}}' grafana")).toBe('sandbox/grafana-standin:1');
  });

  it('an image to pull, with no registry in reach: the image and service named, and a Fix line', async () => {
    // The real pinned nginx, which no registry here can give: Compose tries to pull it.
    const images = s.images.replace(/^nginx=.*$/m, 'nginx=nginx:1.30.4-alpine');
    const r = await deployWithAction(sandboxInputs(s, { images, pull: 'missing' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /The image nginx:1\.30\.4-alpine \(service nginx\) could not be pulled: the host cannot reach its registry \(/,
    );
    expect(r.stdout).toMatch(/Fix: give the host access to the registry .*pull: never/);
    expect(r.stdout).toMatch(/Rolled back to release [0-9a-f]{12}, which is healthy again/);
  });

  it('a host port already in use', async () => {
    sh('docker stop grafana');
    const blocker = await listen(() => {}, 3000, '0.0.0.0');
    try {
      const r = await deployWithAction(sandboxInputs(s));
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('A host port is already in use (3000)');
      expect(r.stdout).toContain("Fix: stop what listens on that port on the host (sudo ss -ltnp 'sport = :3000')");
    } finally {
      blocker.close();
    }
    const healed = await deployWithCli(sandboxInputs(s));
    expect(healed.code).toBe(0);
  });
});
