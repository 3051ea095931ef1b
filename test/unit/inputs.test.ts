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
