// Issue 25, findings 2, 8 (minimum lengths, newlines, what the redactor and file modes see), 10
// and the "also wrongly accepted" inputs: in the parsers, and through the built CLI and action
// (dist/, run `npm run build` first), where each bad input exits 2 before any connection and no
// message shows a secret.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { redactor } from '../../src/base/log';
import { decideHostKey, fingerprintOf } from '../../src/connection/host-key';
import { hostSettings } from '../../src/engine/fleet';
import { parseComposeFile } from '../../src/model/compose';
import { readStackDir } from '../../src/model/files';
import { parseContainerDir, parseHttpUrl, urlCredentials, withoutUserinfo } from '../../src/settings/parse';
import { readSettings, STACK_HOST_PORTS, secretValues } from '../../src/settings/settings';
import { bundledStackDir } from '../../src/stack/bundled';
import { planStack } from '../../src/stack/plan';
import { CONNECTING, goodDeployFlags, runRows } from '../helpers/cli-runs';
import { type RunResult, runAction } from '../helpers/dist';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const FP_A = `SHA256:${'A'.repeat(43)}`;
const FP_B = `SHA256:${'B'.repeat(43)}`;
const base: Record<string, string> = {
  host: 'dev.example.com',
  username: 'ec2-user',
  'ssh-key': KEY,
  'host-fingerprint': FP_A,
  'app-image': 'me/back:1',
};
const { 'host-fingerprint': _, ...unpinned } = base;
const problemsOf = (raw: Record<string, string>) => problemsOfRead(() => readSettings(raw));
const agent = { ...base, role: 'agent', 'loki-push-url': 'https://logs.example.net/loki/api/v1/push' };

// Finding 2: URLs the parser refuses, in the shapes that used to be echoed whole. Each holds the
// password SECRET (with the character that made it a shape of its own).
const REJECTED_URLS: readonly (readonly [string, string, string])[] = [
  ['one slash after the scheme', 'https:/user:SECRET-1a2b@h.example.net/api/v1/write', 'SECRET-1a2b'],
  ['no slash after the scheme', 'https:user:SECRET-1a2b@h.example.net/api/v1/write', 'SECRET-1a2b'],
  ['a / in the password', 'https://user:SECRET/1a2b@h.example.net/api/v1/write', 'SECRET/1a2b'],
  ['a # in the password', 'https://user:SECRET#1a2b@h.example.net/api/v1/write', 'SECRET#1a2b'],
  ['a ? in the password', 'https://user:SECRET?1a2b@h.example.net/api/v1/write', 'SECRET?1a2b'],
  ['no scheme', 'user:SECRET-1a2b@h.example.net/api/v1/write', 'SECRET-1a2b'],
  ['another scheme', 'ftp://user:SECRET-1a2b@h.example.net/api/v1/write', 'SECRET-1a2b'],
  ['a space in the host', 'https://user:SECRET-1a2b@h example.net/api/v1/write', 'SECRET-1a2b'],
];

describe('finding 2: a rejected URL never shows its userinfo', () => {
  it.each(REJECTED_URLS)('%s: the message cuts all before the last @, and the password is masked', (_w, url, pw) => {
    const problems = problemsOf({ ...agent, 'remote-write-url': url });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^remote-write-url: ".*…@h[ .]example\.net\/api\/v1\/write" is not an http\(s\) URL/);
    expect(problems[0]).not.toContain('SECRET');
    expect(problems[0]).not.toContain('user');
    // Masked too (core.setSecret, the CLI's redactor): what a message might show of it.
    expect(secretValues({ ...agent, 'remote-write-url': url })).toContain(pw);
    expect(urlCredentials(url)).toContain(pw);
  });

  it('keeps an http(s) scheme as written and cuts up to the last @ only', () => {
    expect(withoutUserinfo('https:/u:p@h/x')).toBe('https:/…@h/x');
    expect(withoutUserinfo('https://u:p@ss@h/x')).toBe('https://…@h/x');
    expect(withoutUserinfo('u:p@h/x')).toBe('…@h/x');
    expect(withoutUserinfo('https://h.example.net/x')).toBe('https://h.example.net/x');
  });

  it('a query URL with a password holding / is refused without it', () => {
    const problems = problemsOf({
      ...agent,
      'remote-write-url': 'https://vm.example.net/api/v1/write',
      'metrics-query-url': 'https://reader:SECRET/9z@vm.example.net/api/v1/query',
    });
    expect(problems).toEqual([
      'metrics-query-url: "https://…@vm.example.net/api/v1/query" is not an http(s) URL with a host name (no spaces, quotes, $, ` or \\)',
    ]);
  });

  it('a URL a parser reads keeps the userinfo the parser finds: an @ in its path is no secret', () => {
    expect(urlCredentials('https://u:SECRET-1@h.example.net/x@y')).toEqual(['u:SECRET-1', 'SECRET-1']);
    expect(urlCredentials('https://h.example.net/api/@v1')).toEqual([]);
    // A token as the user is masked; a user beside a password is a name, not masked alone.
    expect(urlCredentials('https://glc_token-abc@h.example.net/x')).toEqual(['glc_token-abc']);
    expect(urlCredentials('https://1234:glc_token-abc@h.example.net/x')).not.toContain('1234');
  });
});

describe('finding 8: short secrets and newlines', () => {
  it.each([
    ['Zq', /grafana-admin-password: must be at least 8 characters/],
    ['Zq7-abc', /grafana-admin-password: must be at least 8 characters/],
    ['Zq7-abcd\nsecond-line', /grafana-admin-password: must be one line without control characters/],
    ['Zq7-abcd\t', /grafana-admin-password: must be one line without control characters/],
    ['Zq7-abcd\r', /grafana-admin-password: must be one line without control characters/],
  ])('grafana-admin-password %j is refused, without showing it', (pw, message) => {
    const problems = problemsOf({ ...base, 'grafana-admin-password': pw });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(problems[0]).not.toContain('Zq');
  });

  it('grafana-admin-password of 8 characters, spaces kept, is taken as it is', () => {
    expect(readSettings({ ...base, 'grafana-admin-password': ' Eight-8' }).grafana.adminPassword).toBe(' Eight-8');
  });

  it("query-password and a URL's password must be long enough to mask", () => {
    const queryAgent = { ...agent, 'remote-write-url': 'https://vm.example.net/api/v1/write' };
    expect(problemsOf({ ...queryAgent, 'query-password': 'abc' })).toEqual([
      'query-password: must be at least 4 characters (a random one, e.g. `openssl rand -base64 24`)',
    ]);
    expect(problemsOf({ ...agent, 'remote-write-url': 'https://u:abc@vm.example.net/api/v1/write' })).toEqual([
      'remote-write-url: the password in "https://…@vm.example.net/api/v1/write" is shorter than 4 characters, too short to be masked in logs; use the endpoint\'s real token or password',
    ]);
    // Percent-encoded, it counts as the endpoint reads it.
    expect(
      problemsOf({ ...agent, 'remote-write-url': 'https://u:%41%42%43@vm.example.net/api/v1/write' }),
    ).toHaveLength(1);
  });

  it('every secret of accepted settings is masked by the redactor where it shows', () => {
    const raw = {
      ...agent,
      'remote-write-url': 'https://:abcd@vm.example.net/api/v1/write',
      'query-password': 'wxyz',
      'grafana-admin-password': 'Eight-8a',
      'push-password': 'push-password-of-16',
    };
    const redact = redactor(readSettings(raw).secrets);
    for (const secret of ['abcd', 'wxyz', 'Eight-8a', 'push-password-of-16'])
      expect(redact(`a message with ${secret} in it`)).toBe('a message with *** in it');
  });

  it('a rendered config with any URL userinfo is mode 600, however short, even when not among the secrets', () => {
    const s = readSettings(
      {
        ...agent,
        'remote-write-url': 'https://:abcd@vm.example.net/api/v1/write',
        'loki-push-url': 'https://loki.example.net/loki/api/v1/push',
      },
      { needsConnection: false },
    );
    const mode = (settings: typeof s, path: string) =>
      planStack(settings).rendered.files.find((f) => f.path === path)?.mode;
    expect(mode(s, 'prometheus-agent.yml')).toBe(0o600);
    expect(mode({ ...s, secrets: [] }, 'prometheus-agent.yml')).toBe(0o600);
    // The other agent config holds no credential: it stays readable.
    expect(mode({ ...s, secrets: [] }, 'promtail-agent-config.yml')).toBe(0o644);
  });
});

describe('finding 10: each host of a hosts run is pinned on its own', () => {
  const fleet = { ...base, 'push-password': 'push-password-of-16' };

  it('refuses one host-fingerprint list for two lines without fingerprint=', () => {
    const problems = problemsOf({
      ...fleet,
      hosts: 'name=a role=monitoring host=a.example.com\nname=b role=agent host=b.example.com',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^hosts: the line of a has no fingerprint=, and host-fingerprint is the pin of 2 lines/),
      expect.stringMatching(/^hosts: the line of b has no fingerprint=.*add fingerprint=SHA256:… to the line/),
    ]);
  });

  it("refuses a host-fingerprint list holding another line's key for the line without one", () => {
    const problems = problemsOf({
      ...fleet,
      'host-fingerprint': `${FP_A}\n${FP_B}`,
      hosts: `name=a role=monitoring host=a.example.com\nname=b role=agent host=b.example.com fingerprint=${FP_B}`,
    });
    expect(problems).toEqual([
      expect.stringMatching(/^hosts: the line of a has no fingerprint=.* a would accept b's key/),
    ]);
  });

  it('takes the README pattern: host-fingerprint for the one line without fingerprint=', () => {
    const s = readSettings({
      ...fleet,
      hosts: `name=a role=monitoring host=a.example.com\nname=b role=agent host=b.example.com fingerprint=${FP_B}`,
    });
    const [a, b] = s.hosts;
    if (!a || !b) throw new Error('two hosts expected');
    expect(hostSettings(s, a, a).connection.hostKey).toEqual({ kind: 'fingerprints', fingerprints: [FP_A] });
    expect(hostSettings(s, b, a).connection.hostKey).toEqual({ kind: 'fingerprints', fingerprints: [FP_B] });
  });

  it('refuses host-fingerprint and known-hosts together', () => {
    expect(problemsOf({ ...base, 'known-hosts': `dev.example.com ssh-ed25519 ${'A'.repeat(68)}` })).toEqual([
      expect.stringMatching(
        /^host-fingerprint and known-hosts are both set, but only one can pin the host key: .*@revoked.* Keep one/,
      ),
    ]);
  });

  describe('known-hosts with fingerprint= lines: @revoked still applies', () => {
    let dir: string;
    let blob: Buffer;
    let line: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hostile-settings-'));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
      line = readFileSync(join(dir, 'host.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
      blob = Buffer.from(line.split(' ')[1] ?? '', 'base64');
    });

    const fleetWith = (knownHosts: string) =>
      readSettings({
        ...unpinned,
        'push-password': 'push-password-of-16',
        'known-hosts': knownHosts,
        hosts: `name=a role=monitoring host=a.example.com\nname=b role=agent host=b.example.com fingerprint=${fingerprintOf(blob)}`,
      });

    it("a line's fingerprint= pins its key, unless known-hosts marks that key @revoked", () => {
      const fine = fleetWith(`a.example.com ${line}`);
      const [a, b] = fine.hosts;
      if (!a || !b) throw new Error('two hosts expected');
      // The line without fingerprint= is matched by name in known-hosts, as ssh does.
      expect(hostSettings(fine, a, a).connection.hostKey.kind).toBe('known-hosts');
      const pinned = hostSettings(fine, b, a).connection.hostKey;
      expect(decideHostKey(pinned, 'b.example.com', 22, blob)).toMatchObject({ accepted: true, verified: true });

      const revoked = fleetWith(`a.example.com ${line}\n@revoked * ${line}`);
      const [, rb] = revoked.hosts;
      if (!rb) throw new Error('two hosts expected');
      const d = decideHostKey(hostSettings(revoked, rb, a).connection.hostKey, 'b.example.com', 22, blob);
      expect(d.accepted).toBe(false);
      expect(d.reason).toMatch(/which its fingerprint= pins, but known-hosts marks that key @revoked/);
    });
  });
});

describe('also wrongly accepted: app-logs-dir and receiver-port', () => {
  it.each(['/etc', '/etc/', '/usr', '/usr/lib', '/var/log', '/bin', '/proc', '/lib64', '/tmp', '/var/lib'])(
    'app-logs-dir %j is refused: a system directory of the image',
    (dir) => {
      expect(() => parseContainerDir(dir, 'app-logs-dir')).toThrow(
        /app-logs-dir: ".*" is a system directory of the container;.*e\.g\. \/app\/logs/,
      );
    },
  );

  it.each(['/app/logs', '/logs', '/var/log/app', '/usr/local/tomcat/logs', '/opt/app/logs', '/home/app/logs'])(
    'app-logs-dir %j is a directory of its own',
    (dir) => {
      expect(parseContainerDir(dir, 'app-logs-dir')).toBe(dir);
    },
  );

  const central = { ...base, 'accept-agents': 'true', 'push-password': 'push-password-of-16' };

  it.each([
    ['22', {}, /receiver-port: 22 is the SSH port of the monitoring host/],
    ['2222', { port: '2222' }, /receiver-port: 2222 is the SSH port of the monitoring host/],
    ['3000', {}, /receiver-port: 3000 is the port grafana \(monitoring stack\) publishes on the host/],
    ['80', {}, /receiver-port: 80 is the port nginx \(app stack\) publishes on the host/],
  ])('receiver-port %s is refused on the central host', (port, over, message) => {
    expect(problemsOf({ ...central, ...over, 'receiver-port': port })).toEqual([expect.stringMatching(message)]);
  });

  it("receiver-port on the central line's own SSH port in a hosts run is refused", () => {
    const problems = problemsOf({
      ...central,
      'accept-agents': 'false',
      'receiver-port': '2200',
      hosts: `name=a role=monitoring host=a.example.com port=2200 fingerprint=${FP_A}\nname=b role=agent host=b.example.com fingerprint=${FP_B}`,
    });
    expect(problems).toEqual([expect.stringMatching(/receiver-port: 2200 is the SSH port of the monitoring host/)]);
  });

  it('receiver-port is free where nothing else listens: 9095, or 80 with no app stack there', () => {
    expect(problemsOf({ ...central, 'receiver-port': '9095' })).toEqual([]);
    expect(problemsOf({ ...central, 'receiver-port': '80', stacks: 'monitoring' })).toEqual([]);
    // With no receiver and receiver-port not given, an SSH port of 9095 is no clash.
    expect(problemsOf({ ...base, port: '9095' })).toEqual([]);
  });

  it("STACK_HOST_PORTS are the host ports the bundled compose files publish (besides the receiver's own)", () => {
    const published = readStackDir(bundledStackDir())
      .filter((f) => /^docker-compose.*\.yml$/.test(f.path))
      .flatMap((f) => parseComposeFile(f).services)
      .flatMap((s) =>
        s.ports.flatMap((p) => {
          const host = /(?:^|:)([0-9]+):[0-9]+(?:\/[a-z]+)?$/.exec(p.value)?.[1];
          return host ? [{ port: Number(host), service: s.name }] : [];
        }),
      );
    expect(published.sort((x, y) => x.port - y.port)).toEqual(
      STACK_HOST_PORTS.map(({ port, service }) => ({ port, service })).sort((x, y) => x.port - y.port),
    );
  });
});

// Through the built CLI and action: exit 2 (the action: failed) before any connection, the
// secret nowhere in what they print.
const dir = mkdtempSync(join(tmpdir(), 'hostile-settings-cli-'));
const KEY_FILE = join(dir, 'id_ed25519');
writeFileSync(KEY_FILE, `${KEY}\n`);
const CLI_BASE = goodDeployFlags(KEY_FILE);
const AGENT_FLAGS = ['--role', 'agent', '--loki-push-url', 'https://logs.example.net/loki/api/v1/push'];

// [what, extra flags, what stderr must match, what it must not hold]
const CLI_ROWS: readonly (readonly [string, readonly string[], RegExp, string])[] = [
  ...REJECTED_URLS.map(
    ([what, url, pw]) =>
      [`remote-write-url, ${what}`, [...AGENT_FLAGS, '--remote-write-url', url], /remote-write-url: /, pw] as const,
  ),
  [
    'remote-write-url with a 3-character password',
    [...AGENT_FLAGS, '--remote-write-url', 'https://u:Zq7@vm.example.net/api/v1/write'],
    /remote-write-url: the password in "https:\/\/…@vm\.example\.net\/api\/v1\/write" is shorter than 4/,
    'Zq7',
  ],
  [
    'grafana-admin-password of 3 characters',
    ['--grafana-admin-password', 'Zq7'],
    /grafana-admin-password: must be at least 8 characters/,
    'Zq7',
  ],
  [
    'grafana-admin-password with a newline',
    ['--grafana-admin-password', 'Zq7-first-line\nsecond'],
    /grafana-admin-password: must be one line/,
    'Zq7-first',
  ],
  [
    'two hosts lines under one host-fingerprint',
    [
      '--host-fingerprint',
      FP_A,
      '--push-password',
      'push-password-of-16',
      '--hosts',
      'name=a role=monitoring host=127.0.0.1 port=9\nname=b role=agent host=127.0.0.2 port=9',
    ],
    /hosts: the line of a has no fingerprint=/,
    'SECRET',
  ],
  [
    'host-fingerprint with known-hosts',
    ['--host-fingerprint', FP_A, '--known-hosts', `127.0.0.1 ssh-ed25519 ${'A'.repeat(68)}`],
    /host-fingerprint and known-hosts are both set/,
    'SECRET',
  ],
  ['app-logs-dir /etc', ['--app-logs-dir', '/etc'], /app-logs-dir: "\/etc" is a system directory/, 'SECRET'],
  [
    'receiver-port 22',
    ['--accept-agents', 'true', '--push-password', 'push-password-of-16', '--receiver-port', '22', '--port', '22'],
    /receiver-port: 22 is the SSH port/,
    'SECRET',
  ],
  [
    'receiver-port 3000',
    ['--accept-agents', 'true', '--push-password', 'push-password-of-16', '--receiver-port', '3000'],
    /receiver-port: 3000 is the port grafana/,
    'SECRET',
  ],
];

let results = new Map<string, RunResult>();

beforeAll(async () => {
  results = await runRows(CLI_ROWS, CLI_BASE);
}, 300_000);

describe('through the built CLI', () => {
  it.each(CLI_ROWS)('%s: exits 2 before connecting, the secret not printed', (what, _flags, message, secret) => {
    const r = results.get(what);
    expect(r?.stderr).toMatch(message);
    expect(r?.stderr).toMatch(/^error: Invalid inputs?:/m);
    expect(r?.stderr).not.toMatch(CONNECTING);
    expect(`${r?.stdout}${r?.stderr}`).not.toContain(secret);
    expect(r?.code).toBe(2);
  });
});

describe('through the built action', () => {
  it.each(REJECTED_URLS)(
    'remote-write-url, %s: fails naming it, the secret masked and not printed',
    async (_w, url, pw) => {
      const r = await runAction({
        INPUT_HOST: '127.0.0.1',
        INPUT_PORT: '9',
        INPUT_USERNAME: 'ec2-user',
        INPUT_SSH_KEY: KEY,
        'INPUT_INSECURE-SKIP-HOST-KEY-CHECK': 'true',
        INPUT_ROLE: 'agent',
        'INPUT_LOKI-PUSH-URL': 'https://logs.example.net/loki/api/v1/push',
        'INPUT_REMOTE-WRITE-URL': url,
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/::error::Invalid inputs?: remote-write-url: /);
      // The runner masks what ::add-mask:: names, in every later line.
      expect(r.stdout).toContain(`::add-mask::${pw}`);
      const printed = r.stdout.replace(/^::add-mask::.*$/gm, '');
      expect(printed).not.toContain(pw);
      expect(printed).not.toMatch(CONNECTING);
      expect(r.stderr).not.toContain(pw);
    },
  );
});

// parseHttpUrl itself, as the health checks call it: the same message without the CLI.
it('parseHttpUrl refuses a one-slash URL without its password', () => {
  expect(() => parseHttpUrl('https:/user:SECRET-1a2b@h/api/v1/write', 'remote-write-url')).toThrow(
    'remote-write-url: "https:/…@h/api/v1/write" is not an http(s) URL with a host name',
  );
});
