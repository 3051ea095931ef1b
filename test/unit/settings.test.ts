import { describe, expect, it } from 'vitest';
import { parseDuration, parseImageOverrides, parseSize } from '../../src/settings/parse';
import { readSettings } from '../../src/settings/settings';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const FP = `SHA256:${'x'.repeat(43)}`;
const base = { host: 'dev.example.com', username: 'ec2-user', 'ssh-key': KEY, 'host-fingerprint': FP };

const problemsOf = (raw: Record<string, string>) => problemsOfRead(() => readSettings(raw));

describe('readSettings', () => {
  it('names every missing required input at once', () => {
    expect(problemsOf({})).toEqual(['missing required inputs: host, username, ssh-key']);
    expect(problemsOf({ host: 'h', 'ssh-key': KEY })).toEqual(['missing required input: username']);
  });

  it('reads a valid minimal set, with defaults', () => {
    const s = readSettings(base);
    expect(s.connection).toMatchObject({
      host: 'dev.example.com',
      port: 22,
      username: 'ec2-user',
      connectTimeoutMs: 30_000,
    });
    expect(s.connection.hostKey).toEqual({ kind: 'fingerprints', fingerprints: [FP] });
    expect(s.connection.privateKey.endsWith('-----\n')).toBe(true);
    expect(s.stack).toMatchObject({
      remoteDir: '~/monitoring',
      appMetricsPort: 19021,
      appMetricsPath: '/myendpoint/prometheus',
      stacks: ['app', 'monitoring'],
    });
    expect(s.swapBytes).toBe(2 * 1024 ** 3);
    expect(s.healthTimeoutMs).toBe(180_000);
    expect(s.lockTimeoutMs).toBe(600_000);
  });

  it('collects each bad value with its input name', () => {
    const problems = problemsOf({ ...base, port: '70000', 'connect-timeout': 'soon', 'host-fingerprint': 'MD5:aa:bb' });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^host-fingerprint: "MD5:aa:bb" is not a SHA256 fingerprint/);
    expect(problems).toContain('port: "70000" is not a port (1-65535)');
    expect(problems.some((p) => p.startsWith('connect-timeout: "soon" is not a duration'))).toBe(true);
  });

  it('refuses a public key given as ssh-key', () => {
    expect(problemsOf({ ...base, 'ssh-key': 'ssh-ed25519 AAAAC3Nza user@host' })[0]).toMatch(/not a private key/);
  });

  it('accepts several fingerprints, comma- or newline-separated, and known-hosts', () => {
    const fp2 = `SHA256:${'y'.repeat(43)}`;
    expect(readSettings({ ...base, 'host-fingerprint': `${FP},\n${fp2}` }).connection.hostKey).toEqual({
      kind: 'fingerprints',
      fingerprints: [FP, fp2],
    });
    const { 'host-fingerprint': _, ...noFp } = base;
    expect(readSettings({ ...noFp, 'known-hosts': 'h ssh-ed25519 AAAA' }).connection.hostKey.kind).toBe('known-hosts');
    expect(readSettings({ ...noFp, 'insecure-skip-host-key-check': 'true' }).connection.hostKey.kind).toBe(
      'insecure-skip',
    );
    expect(readSettings(noFp).connection.hostKey.kind).toBe('unpinned');
  });

  it('lists secret values, line by line for a multi-line key', () => {
    const s = readSettings({ ...base, 'ssh-key-passphrase': 'pass-phrase-1' });
    expect(s.secrets).toContain('pass-phrase-1');
    expect(s.secrets).toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    expect(s.secrets).not.toContain('dev.example.com');
  });
});

describe('value parsers', () => {
  it('parses durations', () => {
    const range = { min: 1000, max: 3_600_000 };
    expect(parseDuration('30s', 'x', range)).toBe(30_000);
    expect(parseDuration('2m', 'x', range)).toBe(120_000);
    expect(parseDuration('45', 'x', range)).toBe(45_000);
    expect(() => parseDuration('0s', 'x', range)).toThrow('x: "0s" is out of range; use 1s to 1h');
    expect(() => parseDuration('1d', 'x', range)).toThrow(/not a duration/);
  });
  it('parses sizes', () => {
    const range = { min: 1024 ** 2, max: 64 * 1024 ** 3, zero: 'leave swap alone' };
    expect(parseSize('2G', 'x', range)).toBe(2 * 1024 ** 3);
    expect(parseSize('512M', 'x', range)).toBe(512 * 1024 ** 2);
    expect(parseSize('0', 'x', range)).toBe(0);
    expect(() => parseSize('lots', 'x', range)).toThrow(/not a size/);
    // Where 0 means nothing, it is out of range, and the message offers no 0.
    expect(() => parseSize('0', 'x', { min: 1024 ** 2, max: 1024 ** 3 })).toThrow(
      'x: "0" is out of range; use 1M to 1G',
    );
  });
  it('parses image overrides', () => {
    expect(
      parseImageOverrides('# mirror\nloki = mirror.local/grafana/loki:3.6.2\n\nserver=me/app:1', 'images'),
    ).toEqual({
      loki: 'mirror.local/grafana/loki:3.6.2',
      server: 'me/app:1',
    });
    expect(() => parseImageOverrides('loki', 'images')).toThrow(/not service=image/);
  });
});
