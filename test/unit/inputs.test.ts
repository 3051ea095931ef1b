// Issue 16, hostile and careless input: every bad input is refused by readSettings, before any
// host is touched, with a message that names the input and the fix.
import { describe, expect, it } from 'vitest';
import { readSettings, SettingsError } from '../../src/settings/settings';

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

function problemsOf(raw: Record<string, string>, needsConnection = true): readonly string[] {
  try {
    readSettings(raw, { needsConnection });
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    return (e as SettingsError).problems;
  }
  return [];
}

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
