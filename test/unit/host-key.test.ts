// Host key checks against what OpenSSH's own tools print and write.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkKnownHosts,
  decideHostKey,
  fingerprintOf,
  hostKeyDetail,
  keyTypeOf,
  unverifiedHostKeyWarning,
} from '../../src/connection/host-key';
import { knownHostsProblems } from '../../src/settings/known-hosts';

let dir: string;
let blob: Buffer;
let otherBlob: Buffer;
let pubLine: string;
let sshKeygenFingerprint: string;

function newKey(name: string): { blob: Buffer; line: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  const line = readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
  return { blob: Buffer.from(line.split(' ')[1] ?? '', 'base64'), line };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hostkey-'));
  const k = newKey('host');
  blob = k.blob;
  pubLine = k.line;
  otherBlob = newKey('other').blob;
  sshKeygenFingerprint =
    execFileSync('ssh-keygen', ['-lf', join(dir, 'host.pub')], { encoding: 'utf8' }).split(' ')[1] ?? '';
});

describe('fingerprintOf', () => {
  it('equals what ssh-keygen -lf prints', () => {
    expect(sshKeygenFingerprint).toMatch(/^SHA256:/);
    expect(fingerprintOf(blob)).toBe(sshKeygenFingerprint);
    expect(keyTypeOf(blob)).toBe('ssh-ed25519');
  });
});

describe('checkKnownHosts', () => {
  const keyPart = () => pubLine.split(' ').slice(0, 2).join(' ');

  it('matches a plain line for port 22 and [host]:port for another port', () => {
    expect(checkKnownHosts(`dev.example.com ${keyPart()}`, 'dev.example.com', 22, blob)).toBe('match');
    expect(checkKnownHosts(`dev.example.com ${keyPart()}`, 'dev.example.com', 2222, blob)).toBe('no-entry');
    expect(checkKnownHosts(`[dev.example.com]:2222 ${keyPart()}`, 'dev.example.com', 2222, blob)).toBe('match');
  });

  it('matches comma lists and wildcards, honours negation', () => {
    expect(checkKnownHosts(`a.example,10.0.0.5 ${keyPart()}`, '10.0.0.5', 22, blob)).toBe('match');
    expect(checkKnownHosts(`*.example.com,!bad.example.com ${keyPart()}`, 'dev.example.com', 22, blob)).toBe('match');
    expect(checkKnownHosts(`*.example.com,!bad.example.com ${keyPart()}`, 'bad.example.com', 22, blob)).toBe(
      'no-entry',
    );
  });

  it('reports a different key for a known host as a mismatch', () => {
    expect(checkKnownHosts(`dev.example.com ${keyPart()}`, 'dev.example.com', 22, otherBlob)).toBe('mismatch');
  });

  it('matches hashed lines written by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `dev.example.com ${keyPart()}\n[dev.example.com]:2222 ${keyPart()}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).not.toContain('dev.example.com');
    expect(hashed).toMatch(/^\|1\|/);
    expect(checkKnownHosts(hashed, 'dev.example.com', 22, blob)).toBe('match');
    expect(checkKnownHosts(hashed, 'dev.example.com', 2222, blob)).toBe('match');
    expect(checkKnownHosts(hashed, 'other.example.com', 22, blob)).toBe('no-entry');
  });

  it('refuses a @revoked key even when another line lists it', () => {
    const text = `@revoked dev.example.com ${keyPart()}\ndev.example.com ${keyPart()}`;
    expect(checkKnownHosts(text, 'dev.example.com', 22, blob)).toBe('revoked');
  });

  it('refuses a @revoked key wherever its line sits, as OpenSSH does', () => {
    const text = `dev.example.com ${keyPart()}\n@revoked dev.example.com ${keyPart()}`;
    expect(checkKnownHosts(text, 'dev.example.com', 22, blob)).toBe('revoked');
    expect(checkKnownHosts(`dev.example.com ${keyPart()}\n@revoked * ${keyPart()}`, 'dev.example.com', 22, blob)).toBe(
      'revoked',
    );
  });

  it('never trusts a line with an unknown marker or a certificate authority', () => {
    expect(checkKnownHosts(`@revokd dev.example.com ${keyPart()}`, 'dev.example.com', 22, blob)).toBe('no-entry');
    expect(checkKnownHosts(`@cert-authority dev.example.com ${keyPart()}`, 'dev.example.com', 22, blob)).toBe(
      'no-entry',
    );
  });
});

describe('knownHostsProblems', () => {
  const keyPart = () => pubLine.split(' ').slice(0, 2).join(' ');

  it('accepts plain, hashed, [host]:port and @revoked lines, comments and blanks', () => {
    const text = `# pinned\n\ndev.example.com ${keyPart()}\n[dev.example.com]:2222 ${keyPart()} comment\n@revoked * ${keyPart()}\n|1|c2FsdA==|aGFzaA== ${keyPart()}`;
    expect(knownHostsProblems(text)).toEqual([]);
  });

  it('names an unknown marker, a certificate authority and a malformed line, with the line number', () => {
    expect(knownHostsProblems(`@revokd dev.example.com ${keyPart()}`)).toEqual([
      'known-hosts line 1: unknown marker "@revokd" (only @revoked is supported); fix the marker or remove the line',
    ]);
    expect(knownHostsProblems(`\n@cert-authority *.example.com ${keyPart()}`)[0]).toMatch(
      /^known-hosts line 2: @cert-authority lines are not supported \(no host certificates\)/,
    );
    expect(knownHostsProblems('SHA256:abc')[0]).toMatch(
      /^known-hosts line 1: expected HOSTS KEYTYPE BASE64-KEY, as ssh-keyscan prints/,
    );
    expect(knownHostsProblems('dev.example.com ssh-ed25519 not"base64')[0]).toMatch(/^known-hosts line 1: expected/);
  });
});

describe('decideHostKey', () => {
  it('accepts a pinned fingerprint and refuses another, naming the one seen and how to pin', () => {
    expect(decideHostKey({ kind: 'fingerprints', fingerprints: [sshKeygenFingerprint] }, 'h', 22, blob).accepted).toBe(
      true,
    );
    const d = decideHostKey({ kind: 'fingerprints', fingerprints: [sshKeygenFingerprint] }, 'h', 22, otherBlob);
    expect(d.accepted).toBe(false);
    expect(d.reason).toContain(fingerprintOf(otherBlob));
    expect(d.reason).toContain('ssh-keyscan -p 22 h | ssh-keygen -lf -');
  });

  it('fails closed when nothing is pinned, and only the explicit opt-out accepts any key', () => {
    const d = decideHostKey({ kind: 'unpinned' }, 'h', 22, blob);
    expect(d.accepted).toBe(false);
    expect(d.reason).toContain('not pinned');
    expect(d.reason).toContain(sshKeygenFingerprint);
    expect(decideHostKey({ kind: 'insecure-skip' }, 'h', 22, blob).accepted).toBe(true);
  });
});

describe('a key accepted without a pin (insecure-skip-host-key-check)', () => {
  it('is accepted but not verified; a pinned key is verified', () => {
    expect(decideHostKey({ kind: 'insecure-skip' }, 'h', 22, blob)).toMatchObject({ accepted: true, verified: false });
    expect(decideHostKey({ kind: 'fingerprints', fingerprints: [sshKeygenFingerprint] }, 'h', 22, blob)).toMatchObject({
      accepted: true,
      verified: true,
    });
    expect(decideHostKey({ kind: 'known-hosts', knownHosts: `h ${pubLine}` }, 'h', 22, blob)).toMatchObject({
      accepted: true,
      verified: true,
    });
  });

  it('says so in the step detail and in a warning naming the fingerprint and how to pin it', () => {
    const skipped = decideHostKey({ kind: 'insecure-skip' }, 'dev.example.com', 2222, blob);
    expect(hostKeyDetail(skipped)).toBe(
      `host key ssh-ed25519 ${sshKeygenFingerprint} NOT verified (insecure-skip-host-key-check)`,
    );
    const warning = unverifiedHostKeyWarning('dev.example.com', 2222, skipped) ?? '';
    expect(warning).toContain('insecure-skip-host-key-check');
    expect(warning).toContain(`ssh-ed25519 ${sshKeygenFingerprint}`);
    expect(warning).toContain('dev.example.com:2222');
    expect(warning).toContain('ssh-keyscan -p 2222 dev.example.com | ssh-keygen -lf -');
    expect(warning).toContain(`host-fingerprint: ${sshKeygenFingerprint}`);

    const pinned = decideHostKey({ kind: 'fingerprints', fingerprints: [sshKeygenFingerprint] }, 'h', 22, blob);
    expect(hostKeyDetail(pinned)).toBe(`host key ssh-ed25519 ${sshKeygenFingerprint} verified`);
    expect(unverifiedHostKeyWarning('h', 22, pinned)).toBeUndefined();
  });
});
