// Issue 16, hostile and careless input: every bad input is refused by readSettings, before any
// host is touched, with a message that names the input and the fix.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings, secretValues } from '../../src/settings/settings';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const FP = `SHA256:${'x'.repeat(43)}`;
const PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnV2tFiY2pYvJh6r3vWXvbz8eF9m2bD8mP5mY0jYQ2b';
const base: Record<string, string> = {
  host: 'dev.example.com',
  username: 'ec2-user',
  'ssh-key': KEY,
  'host-fingerprint': FP,
};
const { 'host-fingerprint': _, ...unpinned } = base;

const problemsOf = (raw: Record<string, string>, needsConnection = true) =>
  problemsOfRead(() => readSettings(raw, { needsConnection }));

describe('known-hosts markers (finding 1)', () => {
  it('refuses an unknown marker, naming it', () => {
    expect(problemsOf({ ...unpinned, 'known-hosts': `@revokd dev.example.com ${PUB}` })).toEqual([
      'known-hosts line 1: unknown marker "@revokd" (only @revoked is supported); fix the marker or remove the line',
    ]);
  });

  it('refuses @cert-authority: certificate authorities are not supported', () => {
    expect(problemsOf({ ...unpinned, 'known-hosts': `dev.example.com ${PUB}\n@cert-authority * ${PUB}` })[0]).toMatch(
      /^known-hosts line 2: @cert-authority lines are not supported/,
    );
  });

  it('accepts plain and @revoked lines', () => {
    expect(problemsOf({ ...unpinned, 'known-hosts': `dev.example.com ${PUB}\n@revoked * ${PUB}` })).toEqual([]);
  });
});

describe('numbers, durations and sizes (finding 14)', () => {
  it.each([
    ['port', '0x1'],
    ['port', '1e1'],
    ['port', '22.0'],
    ['port', '+22'],
    ['port', '-0'],
    ['app-metrics-port', '2.5'],
    ['receiver-port', '99999'],
  ])('%s "%s" is not a port', (input, value) => {
    expect(problemsOf({ ...base, [input]: value })).toEqual([`${input}: "${value}" is not a port (1-65535)`]);
  });

  it('accepts a decimal port with spaces around it', () => {
    expect(readSettings({ ...base, port: ' 2222 ' }).connection.port).toBe(2222);
  });

  it.each([
    ['parallel', '2.5', 1, 20],
    ['parallel', '0x3', 1, 20],
    ['parallel', '21', 1, 20],
    ['parallel', '0', 1, 20],
    ['cpu-alert-threshold', '1e1', 1, 100],
    ['cpu-alert-threshold', '70.5', 1, 100],
    ['cpu-alert-threshold', '-0', 1, 100],
    ['cpu-alert-threshold', '101', 1, 100],
  ])('%s "%s" is refused: a whole number from %i to %i', (input, value, min, max) => {
    expect(problemsOf({ ...base, [input]: String(value) })).toEqual([
      `${input}: "${value}" is not a whole number from ${min} to ${max}`,
    ]);
  });

  it.each([
    ['connect-timeout', '600h', '1s to 10m'],
    ['connect-timeout', '0.0001', '1s to 10m'],
    ['connect-timeout', '500ms', '1s to 10m'],
    ['health-timeout', '9999999h', '1s to 1h'],
    ['health-timeout', '0s', '1s to 1h'],
    ['health-timeout', '2h', '1s to 1h'],
    ['lock-timeout', '7h', '1s to 6h'],
    ['lock-timeout', '99999999999999999999999s', '1s to 6h'],
  ])('%s "%s" is out of range (%s)', (input, value, range) => {
    const [problem] = problemsOf({ ...base, [input]: value });
    expect(problem).toMatch(new RegExp(`^${input}: "${value.replace(/\./g, '\\.')}" is .*${range}`));
  });

  it.each([
    ['connect-timeout', 'abc'],
    ['connect-timeout', '1.5m'],
    ['health-timeout', '1e3s'],
    ['lock-timeout', '-5m'],
    ['lock-timeout', '1d'],
  ])('%s "%s" is not a duration', (input, value) => {
    expect(problemsOf({ ...base, [input]: value })[0]).toMatch(
      new RegExp(`^${input}: "${value.replace(/\./g, '\\.')}" is not a duration; use a whole number with a unit`),
    );
  });

  it('reads durations in the range, bare numbers as seconds', () => {
    const s = readSettings({ ...base, 'connect-timeout': '10m', 'health-timeout': ' 90 ', 'lock-timeout': '6h' });
    expect([s.connection.connectTimeoutMs, s.healthTimeoutMs, s.lockTimeoutMs]).toEqual([600_000, 90_000, 21_600_000]);
    expect(readSettings({ ...base, 'connect-timeout': '1500ms' }).connection.connectTimeoutMs).toBe(1500);
  });

  it.each([
    ['2.5G', /not a size; use a whole number with a unit/],
    ['0x10M', /not a size/],
    ['-1G', /not a size/],
    ['65G', /out of range; use 0 \(leave swap alone\) or 1M to 64G/],
    ['1T', /out of range; use 0 \(leave swap alone\) or 1M to 64G/],
    ['512K', /out of range; use 0 \(leave swap alone\) or 1M to 64G/],
  ])('swap-size "%s" is refused', (value, message) => {
    const [problem] = problemsOf({ ...base, 'swap-size': value });
    expect(problem?.startsWith(`swap-size: "${value}"`)).toBe(true);
    expect(problem).toMatch(message);
  });

  it('reads sizes with binary units', () => {
    expect(readSettings({ ...base, 'swap-size': '64G' }).swapBytes).toBe(64 * 1024 ** 3);
    expect(readSettings({ ...base, 'swap-size': '512MiB' }).swapBytes).toBe(512 * 1024 ** 2);
    expect(readSettings({ ...base, 'swap-size': '0' }).swapBytes).toBe(0);
  });

  it('refuses a dashboard id that is not a small whole number', () => {
    expect(problemsOf({ ...base, 'grafana-dashboards': '1860,99999999999999999999' })).toEqual([
      'grafana-dashboards: "99999999999999999999" is not a grafana.com dashboard id',
    ]);
  });
});

describe('values rendered into files and commands (finding 3)', () => {
  // What each input would smuggle in: a scrape job, a line of .env, a shell word.
  const SCRAPE_JOB =
    '/metrics"\n  - job_name: evil\n    static_configs:\n      - targets: ["attacker:80"]\n    metrics_path: "/x';

  it.each([
    ['app-metrics-path', SCRAPE_JOB],
    ['app-metrics-path', '/actuator/prometheus?format=x'],
    ['app-metrics-path', '/actuator/prometheus#x'],
    ['app-metrics-path', '/actuator/prom etheus'],
    ['app-metrics-path', "/actuator/'prometheus'"],
    ['app-metrics-path', '/actuator/$HOME'],
    ['app-metrics-path', '/a/%zz'],
    ['app-metrics-path', 'actuator/prometheus'],
  ])('%s %j is refused', (input, value) => {
    expect(problemsOf({ ...base, [input]: value })).toEqual([
      `${input}: ${JSON.stringify(value).slice(0, 80)}${JSON.stringify(value).length > 80 ? '…' : ''} is not an absolute URL path (/ then letters, digits and - . _ ~ % ! * + , ; = : @ /; no ?, #, spaces or quotes)`,
    ]);
  });

  it.each([
    ['app-logs-dir', '/app/logs\nEVIL=1'],
    ['app-logs-dir', '/app/lo gs'],
    ['app-logs-dir', '/app/"logs"'],
    ['app-logs-dir', '/app/$LOGS'],
    ['app-logs-dir', '/app/`id`'],
    ['app-logs-dir', '/app/logs#x'],
    ['app-logs-dir', '/app\\logs'],
    ['app-logs-dir', '/app/lo:gs'],
    ['remote-dir', '~/monitoring\nEVIL=1'],
    ['remote-dir', '~/moni toring'],
    ['remote-dir', "~/it's"],
  ])('%s %j: one line of allowed characters', (input, value) => {
    expect(problemsOf({ ...base, [input]: value })).toEqual([
      `${input}: ${JSON.stringify(value)} may hold only letters, digits and / . _ - ~ @ + (one line; no spaces, quotes, $, \`, \\, # or :)`,
    ]);
  });

  it('app-logs-dir is an absolute directory of the container, not its root, without ..', () => {
    expect(problemsOf({ ...base, 'app-logs-dir': 'logs' })).toEqual([
      'app-logs-dir: "logs" must be an absolute path in the container (e.g. /app/logs)',
    ]);
    expect(problemsOf({ ...base, 'app-logs-dir': '/' })).toEqual([
      'app-logs-dir: "/" must be a directory of its own, not the container\'s root',
    ]);
    expect(problemsOf({ ...base, 'app-logs-dir': '/app/../etc' })).toEqual([
      'app-logs-dir: "/app/../etc" must not contain .. (name the directory itself)',
    ]);
  });

  it.each([
    'Me/App:1',
    'me/app:1\nEVIL=1',
    'me/app :1',
    'me/app:bad tag',
    'me/app:-bad',
    'me/app:"1"',
    'me/app:1;id',
    'me//app',
    'me/app:',
    'me/app@sha256:abc',
    `me/app:${'a'.repeat(129)}`,
    'https://registry.example.com/me/app',
  ])('app-image %j is not an image reference', (value) => {
    expect(problemsOf({ ...base, 'app-image': value })[0]).toMatch(
      /^app-image: ".*(?:"|…) is not an image reference \(\[registry\[:port\]\/\]name\[:tag\]\[@digest\], the name in lowercase\)$/s,
    );
  });

  it.each([
    'me/app:1',
    'me/app',
    'registry.example.com:5000/team/app:1.4.2-rc.1',
    'localhost/app:dev',
    'localhost:5000/app',
    '[::1]:5000/app:1',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/back:1.4.2',
    'ghcr.io/Org-Name/app:1'.toLowerCase(),
    'Registry.Example.com/app:1',
    `grafana/loki:3.6.2@sha256:${'a'.repeat(64)}`,
    'sandbox/nginx:1.29.3-debian',
    'my_app__x.y-z:TAG_1',
  ])('app-image %j is an image reference', (value) => {
    expect(readSettings({ ...base, 'app-image': value }).stack.appImage).toBe(value);
  });

  it('checks each image of the images input, naming its line', () => {
    expect(problemsOf({ ...base, images: 'loki=grafana/loki:3.6.2\ngrafana=Grafana/Grafana:12' })).toEqual([
      'images line 2: "Grafana/Grafana:12" is not an image reference ([registry[:port]/]name[:tag][@digest], the name in lowercase)',
    ]);
    expect(problemsOf({ ...base, images: 'loki=grafana/loki:3.6.2 EVIL=1' })).toEqual([
      'images line 1: "loki=grafana/loki:3.6.2 EVIL=1" is not service=image',
    ]);
    expect(problemsOf({ ...base, images: 'loki=grafana/loki:3.6.2"' })[0]).toMatch(
      /^images line 1: .* is not an image/,
    );
    expect(problemsOf({ ...base, images: 'loki=grafana/loki:3\nloki=grafana/loki:2' })).toEqual([
      'images line 2: service "loki" is named twice',
    ]);
  });

  it.each([
    ['receiver-bind', '0.0.0.0\nEVIL=1'],
    ['receiver-bind', '1.2.3'],
    ['receiver-bind', ':::'],
    ['receiver-bind', 'fe80::1%eth0'],
    ['receiver-bind', 'localhost'],
  ])('%s %j is not an IP address', (input, value) => {
    expect(problemsOf({ ...base, [input]: value })).toEqual([
      `${input}: ${JSON.stringify(value)} is not an IPv4 or IPv6 address (e.g. 0.0.0.0 or the host's private address)`,
    ]);
  });

  it('receiver-bind takes IPv4 and IPv6 addresses', () => {
    expect(readSettings({ ...base, 'receiver-bind': '10.0.1.20' }).agents.receiverBind).toBe('10.0.1.20');
    expect(readSettings({ ...base, 'receiver-bind': '::' }).agents.receiverBind).toBe('::');
  });

  it.each([
    'dev.example.com\nEVIL',
    'dev example.com',
    '"dev.example.com"',
    '[::1]',
    '-oProxyCommand=x',
    'a..b',
    'dev$x',
  ])('host %j is not a host name or IP address, and host-name is not blamed', (value) => {
    expect(problemsOf({ ...base, host: value })).toEqual([
      `host: ${JSON.stringify(value)} is not a host name or IP address (letters, digits, . - _; an IPv6 address without [ ])`,
    ]);
  });

  it('host ::1 is an address, and the default host-name follows it (finding 16)', () => {
    const s = readSettings({ ...base, host: '::1' });
    expect(s.connection.host).toBe('::1');
    expect(s.hostName).toBe('::1');
    expect(readSettings({ ...base, host: '10.0.0.5' }).hostName).toBe('10.0.0.5');
    expect(readSettings({ ...base, host: '::1', 'host-name': 'dev-box' }).hostName).toBe('dev-box');
  });

  it.each(['dev box', 'dev\nbox', 'dev"box', '-dev', "dev'box"])(
    'host-name %j is refused, naming host-name',
    (value) => {
      expect(problemsOf({ ...base, 'host-name': value })).toEqual([
        `host-name: ${JSON.stringify(value)} may hold only letters, digits and . _ : - (starting with a letter or digit), or be an IP address`,
      ]);
    },
  );

  it.each(['ec2 user', 'ec2-user\nx', '"root"', '-oProxyCommand', 'a$b', 'x'.repeat(33), '1user'])(
    'username %j is not a user name',
    (value) => {
      expect(problemsOf({ ...base, username: value })).toEqual([
        `username: ${JSON.stringify(value)} is not a user name (letters, digits and . _ -, starting with a letter or _; at most 32)`,
      ]);
    },
  );

  it.each(['a b', 'agent\nx', 'agent:x', '"agent"', ''.padEnd(65, 'a')])(
    'push-username %j is refused even without accept-agents (agents send it)',
    (value) => {
      expect(problemsOf({ ...base, 'push-username': value })).toEqual([
        `push-username: ${JSON.stringify(value)} may hold only letters, digits and . _ - (at most 64)`,
      ]);
    },
  );

  it.each(['mon\nitoring', 'mon itoring', '"monitoring"', 'mon$'])('network %j is refused', (value) => {
    expect(problemsOf({ ...base, network: value })[0]).toMatch(/^network: .* is not a valid Docker network name/);
  });

  it.each(['1860"', '1860;id', '1860 19004', '0x10'])('grafana-dashboards %j is refused', (value) => {
    expect(problemsOf({ ...base, 'grafana-dashboards': value })[0]).toMatch(
      /^grafana-dashboards: .* is not a grafana\.com dashboard id/,
    );
  });
});

describe('remote-dir is a directory of its own (finding 9)', () => {
  it.each([
    '/',
    '/etc',
    '/etc/',
    '/usr',
    '/var/lib',
    '/lib64',
    '/home',
    '/root',
    '/tmp',
    '/opt',
    '/proc//',
    '/usr/local',
  ])('remote-dir %j is a system directory', (value) => {
    expect(problemsOf({ ...base, 'remote-dir': value })).toEqual([
      `remote-dir: ${JSON.stringify(value)} is a system directory; use a directory of its own, e.g. ~/monitoring`,
    ]);
  });

  it.each(['~', '~/', '~/.', '/home/ec2-user', '/home/ec2-user/'])(
    "remote-dir %j is the login user's home",
    (value) => {
      expect(problemsOf({ ...base, 'remote-dir': value })).toEqual([
        `remote-dir: ${JSON.stringify(value)} is the login user's home directory; use a directory of its own, e.g. ~/monitoring`,
      ]);
    },
  );

  it('refuses a relative path and .. components', () => {
    expect(problemsOf({ ...base, 'remote-dir': 'monitoring' })).toEqual([
      'remote-dir: "monitoring" must be an absolute path or start with ~/ (e.g. ~/monitoring)',
    ]);
    expect(problemsOf({ ...base, 'remote-dir': '~/../..' })).toEqual([
      'remote-dir: "~/../.." must not contain .. (name the directory itself)',
    ]);
  });

  it('accepts directories of their own', () => {
    for (const dir of ['~/monitoring', '~/tiny/monitoring', '/opt/monitoring', '/srv/md', '/home/ec2-user/monitoring'])
      expect(readSettings({ ...base, 'remote-dir': dir }).stack.remoteDir).toBe(dir);
    expect(readSettings({ ...base, username: 'ubuntu', 'remote-dir': '/home/ec2-user' }).stack.remoteDir).toBe(
      '/home/ec2-user',
    );
  });
});

describe('hosts lines (findings 4 and 15)', () => {
  // known-hosts pins each host by its name; one host-fingerprint list would pin them all alike.
  const fleet = { ...unpinned, 'known-hosts': `* ${PUB}`, 'push-password': 'pw-123456-long-enough' };
  const hostsProblems = (hosts: string, over: Record<string, string> = {}) => problemsOf({ ...fleet, ...over, hosts });

  it('refuses a key given twice, naming the key and the line', () => {
    expect(hostsProblems('name=a role=monitoring host=a.example.com host=b.example.com')).toEqual([
      'hosts line 1: key "host" is given twice',
    ]);
    expect(hostsProblems('name=a role=monitoring host=x\n\nname=b role=agent role=monitoring host=y')).toEqual([
      'hosts line 3: key "role" is given twice',
    ]);
  });

  it.each([
    ['host=dev"x', 'host: "dev\\"x" is not a host name or IP address'],
    ['host=[::1]', 'host: "[::1]" is not a host name or IP address'],
    ['host=-oProxyCommand=x', 'host: "-oProxyCommand=x" is not a host name or IP address'],
    ['host=x address=10.0.0.5;id', 'address: "10.0.0.5;id" is not a host name or IP address'],
    ["host=x address='10.0.0.5'", 'address: "\'10.0.0.5\'" is not a host name or IP address'],
    ['host=x user=ec2$user', 'user: "ec2$user" is not a user name'],
    ['host=x user=-oX', 'user: "-oX" is not a user name'],
    ['host=x port=0x16', 'port: "0x16" is not a port (1-65535)'],
    ['host=x port=22.5', 'port: "22.5" is not a port (1-65535)'],
  ])('name=a role=monitoring %s is refused', (rest, message) => {
    const [problem] = hostsProblems(`name=a role=monitoring ${rest}`);
    expect(problem?.startsWith(`hosts line 1: ${message}`)).toBe(true);
  });

  it('checks push-username in hosts mode too', () => {
    expect(
      hostsProblems('name=a role=monitoring host=x\nname=b role=agent host=y', { 'push-username': 'a:b' }),
    ).toEqual(['push-username: "a:b" may hold only letters, digits and . _ - (at most 64)']);
  });

  it("refuses a remote-dir that is a host's login user's home", () => {
    expect(hostsProblems('name=a role=monitoring host=x user=ubuntu', { 'remote-dir': '/home/ubuntu' })).toEqual([
      'hosts line 1: remote-dir: "/home/ubuntu" is the login user\'s home directory; use a directory of its own, e.g. ~/monitoring',
    ]);
  });

  it('reports a remote-dir bad for every host once, as remote-dir', () => {
    expect(hostsProblems('name=a role=monitoring host=x user=ubuntu', { 'remote-dir': '/etc' })).toEqual([
      'remote-dir: "/etc" is a system directory; use a directory of its own, e.g. ~/monitoring',
    ]);
  });

  it('accepts good lines with every key', () => {
    const s = readSettings({
      ...fleet,
      hosts: `name=dev role=monitoring host=dev.example.com port=2222 user=ubuntu fingerprint=${FP} address=10.0.0.5\nname=prod-1 role=agent host=::1`,
    });
    expect(s.hosts.map((h) => [h.host, h.address, h.user, h.port])).toEqual([
      ['dev.example.com', '10.0.0.5', 'ubuntu', 2222],
      ['::1', undefined, undefined, undefined],
    ]);
  });
});

describe('URLs (finding 13) and the credentials in them (finding 12)', () => {
  const https = 'discord-webhook-url: must be an https:// URL (http:// only to localhost, 127.0.0.1 or [::1])';

  it.each([
    ['http://localhost:x@discord.example.com/api/webhooks/1/a', 'userinfo'],
    ['https://user:pw@discord.com/api/webhooks/1/a', 'userinfo'],
    ['http://localhost.evil.example/api/webhooks/1/a', https],
    ['http://127.0.0.1.evil.example/hook', https],
    ['http://discord.com/api/webhooks/1/a', https],
    ['ftp://discord.com/api/webhooks/1/a', https],
    ['https://discord.com/api/webhooks/1/a b', 'chars'],
    ['https://discord.com/api/webhooks/1/a\nEVIL=1', 'chars'],
    ['https://discord.com/api/webhooks/1/"a"', 'chars'],
    ['discord.com/api/webhooks/1/a', https],
  ])('discord-webhook-url %j is refused, without printing it', (url, kind) => {
    const problems = problemsOf({ ...base, 'discord-webhook-url': url });
    expect(problems).toEqual([
      kind === 'userinfo'
        ? 'discord-webhook-url: must not hold user:password@ (the part before @ is not the host the URL goes to)'
        : kind === 'chars'
          ? 'discord-webhook-url: must be one URL without spaces, quotes, $, ` or \\'
          : kind,
    ]);
  });

  it.each([
    'https://discord.com/api/webhooks/1/abc',
    'http://localhost:8080/hook',
    'http://127.0.0.1/hook',
    'http://[::1]:9/hook',
  ])('discord-webhook-url %j is accepted', (url) => {
    expect(readSettings({ ...base, 'discord-webhook-url': url }).grafana.discordWebhookUrl).toBe(url);
  });

  const agent = { ...base, role: 'agent', 'loki-push-url': 'https://logs.example.net/loki/api/v1/push' };
  it.each([
    ['ftp://prom.example.net/api/v1/write', 'ftp://prom.example.net/api/v1/write'],
    ['https://prom.example.net/api/v1/write x', 'https://prom.example.net/api/v1/write x'],
    ['https://prom.example.net/api/v1/write\nEVIL=1', 'https://prom.example.net/api/v1/write\nEVIL=1'],
    ['https://prom.example.net/$HOME', 'https://prom.example.net/$HOME'],
    ['https:///api/v1/write', 'https:///api/v1/write'],
    ['prom.example.net/api/v1/write', 'prom.example.net/api/v1/write'],
    ['https://user:s3cret-token@prom example.net/w', 'https://…@prom example.net/w'],
  ])('remote-write-url %j is refused (shown as %j)', (url, shownUrl) => {
    expect(problemsOf({ ...agent, 'remote-write-url': url })).toEqual([
      `remote-write-url: ${JSON.stringify(shownUrl)} is not an http(s) URL with a host name (no spaces, quotes, $, \` or \\)`,
    ]);
  });

  it('accepts credentials in remote-write-url and loki-push-url, and masks them', () => {
    const raw = {
      ...agent,
      'remote-write-url': 'https://123456:glc_s3cret-token@prometheus-prod.grafana.net/api/prom/push',
      'loki-push-url': 'https://7890:p%40ss-word@logs-prod.grafana.net/loki/api/v1/push',
    };
    const s = readSettings(raw);
    for (const secret of [
      'glc_s3cret-token',
      '123456:glc_s3cret-token',
      'p%40ss-word',
      'p@ss-word',
      '7890:p%40ss-word',
    ])
      expect(s.secrets).toContain(secret);
    expect(secretValues(raw)).toEqual(s.secrets);
    expect(s.secrets).not.toContain('prometheus-prod.grafana.net');
  });
});

describe("query URLs: where an agent's data is read back (issue 18)", () => {
  const agent = {
    ...base,
    role: 'agent',
    'remote-write-url': 'https://vm.internal:8428/api/v1/write',
    'loki-push-url': 'https://loki.internal:3100/loki/api/v1/push',
  };

  it.each([
    'https://vm.internal:8428/api/v1/query',
    'https://vmselect:8481/select/0/prometheus/api/v1/query',
    'https://mimir.example.net/prometheus/api/v1/query',
    'https://prometheus-prod-10-prod-us-central-0.grafana.net/api/prom/api/v1/query',
  ])('metrics-query-url %j is an instant-query endpoint', (url) => {
    expect(readSettings({ ...agent, 'metrics-query-url': url }).agents.metricsQueryUrl).toBe(url);
  });

  it.each([
    [
      'https://vm.internal:8428',
      'metrics-query-url: "https://vm.internal:8428" is not the Prometheus-compatible instant-query endpoint itself: its path must end in /api/v1/query (e.g. https://vm.internal:8428/api/v1/query)',
    ],
    [
      'https://user:s3cret@mimir.example.net/prometheus',
      'metrics-query-url: "https://…@mimir.example.net/prometheus" is not the Prometheus-compatible instant-query endpoint itself: its path must end in /api/v1/query (e.g. https://mimir.example.net/prometheus/api/v1/query)',
    ],
    [
      'https://vm.internal:8428/api/v1/write',
      'metrics-query-url: "https://vm.internal:8428/api/v1/write" is not the Prometheus-compatible instant-query endpoint itself (that is a write endpoint): its path must end in /api/v1/query',
    ],
    [
      'https://vm.internal:8428/api/v1/query_range',
      'metrics-query-url: "https://vm.internal:8428/api/v1/query_range" is not the Prometheus-compatible instant-query endpoint itself: its path must end in /api/v1/query',
    ],
  ])('metrics-query-url %j is refused, saying what it must be', (url, problem) => {
    expect(problemsOf({ ...agent, 'metrics-query-url': url })).toEqual([problem]);
  });

  it("logs-query-url is Loki's query_range; its push endpoint is refused", () => {
    const url = 'https://logs-prod-012.grafana.net/loki/api/v1/query_range';
    expect(readSettings({ ...agent, 'logs-query-url': url }).agents.logsQueryUrl).toBe(url);
    expect(problemsOf({ ...agent, 'logs-query-url': 'https://loki.internal:3100/loki/api/v1/push' })).toEqual([
      `logs-query-url: "https://loki.internal:3100/loki/api/v1/push" is not Loki's query_range endpoint itself (that is a write endpoint): its path must end in /loki/api/v1/query_range`,
    ]);
    expect(problemsOf({ ...agent, 'logs-query-url': 'https://loki.internal:3100' })[0]).toMatch(
      /\(e\.g\. https:\/\/loki\.internal:3100\/loki\/api\/v1\/query_range\)$/,
    );
  });

  it('are for agents only', () => {
    expect(problemsOf({ ...base, 'metrics-query-url': 'https://vm:8428/api/v1/query' })).toEqual([
      "metrics-query-url: only an agent's data is read back there (role: agent, or role=agent lines in hosts)",
    ]);
  });

  it('masks query-password and the credentials in the query URLs', () => {
    const raw = {
      ...agent,
      'metrics-query-url': 'https://123456:glc_query-token@prometheus-prod.grafana.net/api/prom/api/v1/query',
      'logs-query-url': 'https://7890:logs-query-token@logs-prod.grafana.net/loki/api/v1/query_range',
      'query-username': 'reader',
      'query-password': 'query-s3cret',
    };
    const s = readSettings(raw);
    expect(s.agents).toMatchObject({ queryUsername: 'reader', queryPassword: 'query-s3cret' });
    for (const secret of ['glc_query-token', 'logs-query-token', 'query-s3cret']) expect(s.secrets).toContain(secret);
    expect(problemsOf({ ...agent, 'query-username': 'a b' })).toEqual([
      'query-username: "a b" may hold only letters, digits and . _ - (at most 64)',
    ]);
  });
});

describe('stack-dir (finding 16)', () => {
  it('must be a directory that exists', () => {
    expect(problemsOf({ ...base, 'stack-dir': '/nonexistent' })).toEqual([
      'stack-dir: "/nonexistent" does not exist (a directory with the compose files; leave stack-dir empty for the bundled stack)',
    ]);
    const file = join(mkdtempSync(join(tmpdir(), 'stack-dir-')), 'docker-compose-dev.yml');
    writeFileSync(file, 'services: {}\n');
    expect(problemsOf({ ...base, 'stack-dir': file })).toEqual([
      `stack-dir: ${JSON.stringify(file)} is not a directory (a directory with the compose files; leave stack-dir empty for the bundled stack)`,
    ]);
    expect(problemsOf({ 'stack-dir': '/nonexistent' }, false)[0]).toMatch(/^stack-dir: "\/nonexistent" does not exist/);
    expect(readSettings({ ...base, 'stack-dir': 'compose' }).stack.stackDir).toBe('compose');
  });
});
