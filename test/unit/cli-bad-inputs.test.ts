// Issue 16 through the built CLI (dist/cli.js, run `npm run build` first): every bad input exits 2
// with a message naming the input, before any connection is tried. The control row shows what
// "tried to connect" looks like: the same flags, all good, reach the (closed) port 9.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTING, goodDeployFlags, runRows } from '../helpers/cli-runs';
import { type RunResult, runAction, runCli } from '../helpers/dist';
import { throwawayPrivateKey } from '../helpers/keys';

const dir = mkdtempSync(join(tmpdir(), 'cli-bad-inputs-'));
const KEY_FILE = join(dir, 'id_ed25519');
const PUB_FILE = join(dir, 'id_ed25519.pub');
const FILE = join(dir, 'a-file');

beforeAll(() => {
  // A key the SSH client reads: one it cannot read is itself a bad input (refused, exit 2).
  writeFileSync(KEY_FILE, throwawayPrivateKey());
  writeFileSync(
    PUB_FILE,
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnV2tFiY2pYvJh6r3vWXvbz8eF9m2bD8mP5mY0jYQ2b me@laptop\n',
  );
  writeFileSync(FILE, 'x\n');
});

/** Good values for everything; each row adds flags (a repeated flag's last value wins). */
const BASE = goodDeployFlags(KEY_FILE);
const PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnV2tFiY2pYvJh6r3vWXvbz8eF9m2bD8mP5mY0jYQ2b';
const HOOK = 'https://discord.com/api/webhooks/1/abc';
const HOSTS = (line: string) => ['--hosts', line, '--push-password', 'pw-123456-long-enough'];

// [what, extra flags, what stderr must match]
const ROWS: readonly (readonly [string, readonly string[], RegExp])[] = [
  // ports
  ['port in hex', ['--port', '0x16'], /port: "0x16" is not a port \(1-65535\)/],
  ['port too large', ['--port', '70000'], /port: "70000" is not a port/],
  ['port with a fraction', ['--port', '22.5'], /port: "22\.5" is not a port/],
  ['port negative, as =', ['--port=-1'], /port: "-1" is not a port/],
  ['port negative, reads as a flag', ['--port', '-1'], /port: the value starts with "-".*--port=VALUE/],
  ['app-metrics-port in exponent form', ['--app-metrics-port', '1e3'], /app-metrics-port: "1e3" is not a port/],
  ['receiver-port zero', ['--receiver-port', '0'], /receiver-port: "0" is not a port/],
  // sizes
  [
    'swap-size with a fraction',
    ['--swap-size', '2.5G'],
    /swap-size: "2\.5G" is not a size.*0 \(leave swap alone\) or 1M to 64G/,
  ],
  [
    'swap-size too large',
    ['--swap-size', '65G'],
    /swap-size: "65G" is out of range; use 0 \(leave swap alone\) or 1M to 64G/,
  ],
  ['swap-size not a size', ['--swap-size', 'lots'], /swap-size: "lots" is not a size/],
  // durations
  [
    'connect-timeout beyond a timer',
    ['--connect-timeout', '600h'],
    /connect-timeout: "600h" is out of range; use 1s to 10m/,
  ],
  ['health-timeout below a second', ['--health-timeout', '0.0001'], /health-timeout: "0\.0001" is not a duration/],
  ['lock-timeout forever', ['--lock-timeout', '9999999h'], /lock-timeout: "9999999h" is out of range; use 1s to 6h/],
  ['health-timeout zero', ['--health-timeout', '0s'], /health-timeout: "0s" is out of range; use 1s to 1h/],
  ['connect-timeout not a duration', ['--connect-timeout', 'abc'], /connect-timeout: "abc" is not a duration/],
  [
    'lock-timeout with a fraction',
    ['--lock-timeout', '1.5m'],
    /lock-timeout: "1\.5m" is not a duration; use a whole number/,
  ],
  // choices
  ['pull', ['--pull', 'sometimes'], /pull: "sometimes" is not one of missing, always, never/],
  ['log-agent', ['--log-agent', 'fluentd'], /log-agent: "fluentd" is not one of promtail, alloy/],
  ['role', ['--role', 'worker'], /role: "worker" is not one of monitoring, agent/],
  ['notify-on', ['--notify-on', 'always'], /notify-on: "always" is not one of failure, never/],
  ['stacks unknown', ['--stacks', 'app,db'], /stacks: "db" is not one of app, monitoring, agent/],
  ['stacks none', ['--stacks', ','], /stacks: name at least one of app, monitoring, agent/],
  ['stacks of the other role', ['--stacks', 'app,agent'], /stacks: "agent" does not run on a monitoring host/],
  // booleans
  ['rollback', ['--rollback', 'maybe'], /rollback: "maybe" is not true or false/],
  ['accept-agents', ['--accept-agents', 'yes please'], /accept-agents: "yes please" is not true or false/],
  ['insecure-skip-host-key-check', ['--insecure-skip-host-key-check', 'sure'], /insecure-skip-host-key-check: "sure"/],
  // keys
  ['ssh-key a .pub file', ['--ssh-key-file', PUB_FILE], /ssh-key: this is not a private key.*not the \.pub file/],
  ['ssh-key not a key', ['--ssh-key', 'hello'], /ssh-key: this is not a private key/],
  [
    'ssh-key-file missing',
    ['--ssh-key-file', '/nonexistent'],
    /ssh-key-file: cannot read \/nonexistent \(no such file\)/,
  ],
  ['ssh-key-file a directory', ['--ssh-key-file', dir], /ssh-key-file: cannot read .* \(it is a directory\)/],
  [
    'ssh-key pasted after a space',
    ['--ssh-key', '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----'],
    /ssh-key: the value starts with "-".*--ssh-key-file PATH, or write --ssh-key=VALUE/,
  ],
  // fingerprints and known-hosts
  [
    'host-fingerprint MD5',
    ['--host-fingerprint', 'MD5:aa:bb'],
    /host-fingerprint: "MD5:aa:bb" is not a SHA256 fingerprint/,
  ],
  ['host-fingerprint short', ['--host-fingerprint', 'SHA256:abc'], /host-fingerprint: "SHA256:abc" is not a SHA256/],
  [
    'known-hosts unknown marker',
    ['--known-hosts', `@revokd 127.0.0.1 ${PUB}`],
    /known-hosts line 1: unknown marker "@revokd"/,
  ],
  [
    'known-hosts CA',
    ['--known-hosts', `@cert-authority * ${PUB}`],
    /known-hosts line 1: @cert-authority lines are not supported/,
  ],
  [
    'known-hosts a fingerprint',
    ['--known-hosts', 'SHA256:abc'],
    /known-hosts line 1: expected HOSTS KEYTYPE BASE64-KEY/,
  ],
  // hosts lines
  ['hosts line without host=', HOSTS('name=a role=monitoring'), /hosts line 1: needs name=, role= and host=/],
  ['hosts key twice', HOSTS('name=a role=monitoring host=x host=y'), /hosts line 1: key "host" is given twice/],
  ['hosts bad port', HOSTS('name=a role=monitoring host=x port=0x16'), /hosts line 1: port: "0x16" is not a port/],
  ['hosts bad name', HOSTS('name=a" role=monitoring host=x'), /hosts line 1: name: "a\\"" may hold only/],
  [
    'hosts bad address',
    HOSTS('name=a role=monitoring host=x address=10.0.0.5;id'),
    /hosts line 1: address: "10\.0\.0\.5;id" is not a host name or IP/,
  ],
  ['hosts bad user', HOSTS('name=a role=monitoring host=x user=-oX'), /hosts line 1: user: "-oX" is not a user name/],
  ['hosts bad host', HOSTS('name=a role=monitoring host=x$y'), /hosts line 1: host: "x\$y" is not a host name or IP/],
  ['hosts unknown key', HOSTS('name=a role=monitoring host=x colour=red'), /hosts line 1: unknown key "colour"/],
  ['hosts bad role', HOSTS('name=a role=boss host=x'), /hosts line 1: role: "boss" is not one of monitoring, agent/],
  [
    'hosts same name twice',
    HOSTS('name=a role=monitoring host=x\nname=a role=agent host=y'),
    /hosts: the name "a" is used twice/,
  ],
  // URLs
  [
    'webhook bypass by userinfo',
    ['--discord-webhook-url', 'http://localhost:x@discord.example.com/api/webhooks/1/a'],
    /discord-webhook-url: must not hold user:password@/,
  ],
  [
    'webhook over http',
    ['--discord-webhook-url', 'http://discord.com/api/webhooks/1/a'],
    /discord-webhook-url: must be an https:\/\/ URL/,
  ],
  [
    'webhook with a space',
    ['--discord-webhook-url', `${HOOK} x`],
    /discord-webhook-url: must be one URL without spaces/,
  ],
  [
    'remote-write-url not http',
    ['--remote-write-url', 'ftp://prom.example.net/w'],
    /remote-write-url: "ftp:\/\/prom\.example\.net\/w" is not an http\(s\) URL/,
  ],
  [
    'loki-push-url with a space',
    ['--loki-push-url', 'https://logs.example.net/loki api'],
    /loki-push-url: ".*" is not an http\(s\) URL/,
  ],
  [
    'remote-write-url with a newline',
    ['--remote-write-url', 'https://prom.example.net/w\nEVIL=1'],
    /remote-write-url: ".*\\nEVIL=1" is not an http\(s\) URL/,
  ],
  // paths
  ['remote-dir /', ['--remote-dir', '/'], /remote-dir: "\/" is a system directory/],
  ['remote-dir ~', ['--remote-dir', '~'], /remote-dir: "~" is the login user's home directory/],
  ['remote-dir /etc', ['--remote-dir', '/etc'], /remote-dir: "\/etc" is a system directory/],
  [
    'remote-dir the home',
    ['--remote-dir', '/home/ec2-user'],
    /remote-dir: "\/home\/ec2-user" is the login user's home/,
  ],
  [
    'remote-dir with a newline',
    ['--remote-dir', '~/monitoring\nEVIL=1'],
    /remote-dir: "~\/monitoring\\nEVIL=1" may hold only/,
  ],
  [
    'app-logs-dir relative',
    ['--app-logs-dir', 'logs'],
    /app-logs-dir: "logs" must be an absolute path in the container/,
  ],
  [
    'app-logs-dir with a newline',
    ['--app-logs-dir', '/app/logs\nEVIL=1'],
    /app-logs-dir: "\/app\/logs\\nEVIL=1" may hold only/,
  ],
  [
    'app-metrics-path with a newline',
    ['--app-metrics-path', '/metrics\n  - job_name: evil'],
    /app-metrics-path: ".*" is not an absolute URL path/,
  ],
  [
    'app-metrics-path with a query',
    ['--app-metrics-path', '/actuator/prometheus?x=1'],
    /app-metrics-path: ".*\?x=1" is not an absolute URL path/,
  ],
  [
    'app-metrics-path with a quote',
    ['--app-metrics-path', '/actuator/"prometheus"'],
    /app-metrics-path: ".*" is not an absolute URL path/,
  ],
  ['stack-dir missing', ['--stack-dir', '/nonexistent'], /stack-dir: "\/nonexistent" does not exist/],
  ['stack-dir a file', ['--stack-dir', FILE], /stack-dir: ".*" is not a directory/],
  // images
  ['app-image uppercase', ['--app-image', 'Me/App:1'], /app-image: "Me\/App:1" is not an image reference/],
  [
    'app-image with a newline',
    ['--app-image', 'me/app:1\nEVIL=1'],
    /app-image: "me\/app:1\\nEVIL=1" is not an image reference/,
  ],
  ['app-image with a space', ['--app-image', 'me/app :1'], /app-image: "me\/app :1" is not an image reference/],
  ['app-image bad tag', ['--app-image', 'me/app:-bad'], /app-image: "me\/app:-bad" is not an image reference/],
  [
    'images uppercase',
    ['--images', 'loki=Grafana/Loki:3'],
    /images line 1: "Grafana\/Loki:3" is not an image reference/,
  ],
  [
    'images service twice',
    ['--images', 'loki=grafana/loki:3\nloki=grafana/loki:2'],
    /images line 2: service "loki" is named twice/,
  ],
  ['images not service=image', ['--images', 'loki'], /images line 1: "loki" is not service=image/],
  ['images with a quote', ['--images', 'loki=grafana/loki:3"'], /images line 1: ".*" is not an image reference/],
  ['images with a second word', ['--images', 'loki=grafana/loki:3 EVIL=1'], /images line 1: ".*" is not service=image/],
  // newlines and quotes in free text
  ['host with a newline', ['--host', '127.0.0.1\nx'], /host: "127\.0\.0\.1\\nx" is not a host name or IP address/],
  ['host quoted', ['--host', '"127.0.0.1"'], /host: "\\"127\.0\.0\.1\\"" is not a host name/],
  ['host in brackets', ['--host', '[::1]'], /host: "\[::1\]" is not a host name or IP address \(.*without \[ \]\)/],
  ['username with a newline', ['--username', 'ec2-user\nx'], /username: "ec2-user\\nx" is not a user name/],
  ['username with a quote', ['--username', "ec2'user"], /username: "ec2'user" is not a user name/],
  ['host-name with a newline', ['--host-name', 'dev\nbox'], /host-name: "dev\\nbox" may hold only/],
  ['host-name with a quote', ['--host-name', 'dev"box'], /host-name: "dev\\"box" may hold only/],
  [
    'network with a newline',
    ['--network', 'mon\nitoring'],
    /network: "mon\\nitoring" is not a valid Docker network name/,
  ],
  ['network with a quote', ['--network', "mon'itoring"], /network: "mon'itoring" is not a valid Docker network name/],
  ['push-username with a newline', ['--push-username', 'agent\nx'], /push-username: "agent\\nx" may hold only/],
  ['push-username with a quote', ['--push-username', 'agent"'], /push-username: "agent\\"" may hold only/],
  [
    'grafana-dashboards with a quote',
    ['--grafana-dashboards', '1860"'],
    /grafana-dashboards: "1860\\"" is not a grafana\.com dashboard id/,
  ],
  [
    'grafana-dashboards bad line',
    ['--grafana-dashboards', '1860\n19004x'],
    /grafana-dashboards: "19004x" is not a grafana\.com dashboard id/,
  ],
  [
    'receiver-bind with a newline',
    ['--receiver-bind', '0.0.0.0\nEVIL=1'],
    /receiver-bind: "0\.0\.0\.0\\nEVIL=1" is not an IPv4 or IPv6 address/,
  ],
  ['receiver-bind quoted', ['--receiver-bind', '"0.0.0.0"'], /receiver-bind: ".*" is not an IPv4 or IPv6 address/],
  // numbers
  ['parallel in hex', ['--parallel', '0x1'], /parallel: "0x1" is not a whole number from 1 to 20/],
  ['parallel in exponent form', ['--parallel', '1e0'], /parallel: "1e0" is not a whole number from 1 to 20/],
  [
    'cpu-alert-threshold with a fraction',
    ['--cpu-alert-threshold', '2.5'],
    /cpu-alert-threshold: "2\.5" is not a whole number from 1 to 100/,
  ],
  [
    'cpu-alert-threshold negative',
    ['--cpu-alert-threshold=-1'],
    /cpu-alert-threshold: "-1" is not a whole number from 1 to 100/,
  ],
  ['parallel too many', ['--parallel', '99999'], /parallel: "99999" is not a whole number from 1 to 20/],
  // the command line itself
  ['unknown flag', ['--colour', 'red'], /unknown flag --colour/],
  ['flag without a value', ['--network'], /network: --network needs a value/],
];

let results = new Map<string, RunResult>();

beforeAll(async () => {
  results = await runRows(ROWS, BASE);
}, 300_000);

describe('bad inputs through the built CLI', () => {
  it('has a row for each kind of bad input', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(65);
    expect(new Set(ROWS.map((r) => r[0])).size).toBe(ROWS.length);
  });

  it('control: the same flags, all good, go on to connect (and fail with 1)', async () => {
    const r = await runCli(BASE);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(CONNECTING);
  });

  it.each(ROWS)('%s: exits 2 before connecting', (what, _extra, message) => {
    const r = results.get(what);
    expect(r?.stderr).toMatch(message);
    expect(r?.stderr).toMatch(/^error: Invalid inputs?:/m);
    expect(r?.stderr).not.toMatch(CONNECTING);
    expect(r?.stderr).not.toMatch(/unexpected|^Usage:/m);
    expect(r?.code).toBe(2);
  });

  it('an unknown command exits 2, and so does a bad command input of the action', async () => {
    const cli = await runCli(['frobnicate', ...BASE.slice(1)]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/Unknown command "frobnicate"/);
    const action = await runAction({
      INPUT_COMMAND: 'watch',
      INPUT_HOST: '127.0.0.1',
      INPUT_USERNAME: 'u',
      INPUT_SSH_KEY: 'x',
    });
    expect(action.stdout).toMatch(/command: "watch" is not one of deploy, check/);
    expect(action.code).toBe(1);
  });
});
