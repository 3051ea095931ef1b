// The inputs of reaching a host (proxy-jump and its key and pin, proxy-command, a hosts line's
// jump=), refused before any connection when wrong; and the rules of trying again.
import { describe, expect, it } from 'vitest';
import { expandProxyCommand } from '../../src/connection/proxy-command';
import { pauseAfter, transientCause, tryLength } from '../../src/connection/tries';
import { hostSettings, jumpOf } from '../../src/engine/fleet';
import { parseJumpSpec, parseProxyCommand } from '../../src/settings/parse';
import { readSettings, secretValues } from '../../src/settings/settings';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const JUMP_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nanVtcGtleQ==\n-----END OPENSSH PRIVATE KEY-----';
const FP = `SHA256:${'x'.repeat(43)}`;
const JUMP_FP = `SHA256:${'j'.repeat(43)}`;
const base = { host: '10.0.1.5', username: 'ec2-user', 'ssh-key': KEY, 'host-fingerprint': FP };
const problemsOf = (raw: Record<string, string>) => problemsOfRead(() => readSettings(raw));

describe('proxy-jump', () => {
  it('reads [user@]host[:port] as OpenSSH writes it; user defaults to username, port to 22', () => {
    expect(parseJumpSpec('admin@bastion.example.com:2222', 'proxy-jump')).toEqual({
      user: 'admin',
      host: 'bastion.example.com',
      port: 2222,
    });
    expect(parseJumpSpec('ssh://[2001:db8::1]:22', 'proxy-jump')).toEqual({ host: '2001:db8::1', port: 22 });
    const s = readSettings({ ...base, 'proxy-jump': 'bastion.example.com', 'proxy-jump-fingerprint': JUMP_FP });
    expect(s.connection.jump).toMatchObject({ host: 'bastion.example.com', port: 22, username: 'ec2-user' });
  });

  it.each([
    ['a,b', 'names several jump hosts'],
    ['user@', 'is not [user@]host[:port]'],
    ['bastion:99999', 'proxy-jump: port: "99999" is not a port'],
    ['bad user@bastion', 'is not [user@]host[:port]'],
    ['-oProxyCommand=x@bastion', 'proxy-jump: user: "-oProxyCommand=x" is not a user name'],
  ])('refuses %s', (value, message) => {
    expect(problemsOf({ ...base, 'proxy-jump': value }).join('\n')).toContain(message);
  });

  it('its key is proxy-jump-ssh-key (with its passphrase), else ssh-key (with its passphrase)', () => {
    const own = readSettings({
      ...base,
      'ssh-key-passphrase': 'host-pass',
      'proxy-jump': 'b',
      'proxy-jump-ssh-key': JUMP_KEY,
      'proxy-jump-ssh-key-passphrase': 'jump-pass',
    });
    expect(own.connection.jump).toMatchObject({ privateKey: `${JUMP_KEY}\n`, passphrase: 'jump-pass' });
    const shared = readSettings({ ...base, 'ssh-key-passphrase': 'host-pass', 'proxy-jump': 'b' });
    expect(shared.connection.jump).toMatchObject({ privateKey: `${KEY}\n`, passphrase: 'host-pass' });
    expect(problemsOf({ ...base, 'proxy-jump': 'b', 'proxy-jump-ssh-key': 'ssh-ed25519 AAAA… me@laptop' })).toEqual([
      'proxy-jump-ssh-key: this is not a private key (expected a -----BEGIN … PRIVATE KEY----- block; pass the private key, not the .pub file)',
    ]);
  });

  it('its key and passphrase are secrets: masked and redacted', () => {
    const secrets = secretValues({ 'proxy-jump-ssh-key': JUMP_KEY, 'proxy-jump-ssh-key-passphrase': 'jump-pass' });
    expect(secrets).toContain(JUMP_KEY);
    expect(secrets).toContain('jump-pass');
  });

  it('its host key: proxy-jump-fingerprint, else known-hosts lines, else unpinned (refused at connect); never host-fingerprint', () => {
    const pin = (over: Record<string, string>) =>
      readSettings({ ...base, 'proxy-jump': 'b', ...over }).connection.jump?.hostKey;
    expect(pin({ 'proxy-jump-fingerprint': JUMP_FP })).toEqual({ kind: 'fingerprints', fingerprints: [JUMP_FP] });
    const line = 'b ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    expect(pin({ 'known-hosts': line, 'host-fingerprint': '' })).toEqual({ kind: 'known-hosts', knownHosts: line });
    expect(pin({})).toEqual({ kind: 'unpinned' });
    expect(pin({ 'insecure-skip-host-key-check': 'true', 'host-fingerprint': '' })).toEqual({ kind: 'insecure-skip' });
    expect(problemsOf({ ...base, 'proxy-jump': 'b', 'proxy-jump-fingerprint': 'MD5:aa' })[0]).toMatch(
      /^proxy-jump-fingerprint: "MD5:aa" is not a SHA256 fingerprint/,
    );
  });

  it('and proxy-command together are refused', () => {
    expect(problemsOf({ ...base, 'proxy-jump': 'b', 'proxy-command': 'nc %h %p' })).toEqual([
      'proxy-command and proxy-jump: give one of them (a jump host, or a command that carries the connection)',
    ]);
  });
});

describe('proxy-command', () => {
  it('fills in %h %p %r %n and %% as OpenSSH does', () => {
    expect(
      expandProxyCommand('aws ssm start-session --target %h --parameters portNumber=%p # %r %n 100%%h', {
        host: 'i-0123456789abcdef0',
        port: 22,
        username: 'ec2-user',
      }),
    ).toBe(
      'aws ssm start-session --target i-0123456789abcdef0 --parameters portNumber=22 # ec2-user i-0123456789abcdef0 100%h',
    );
  });

  it.each([
    ['nc %h %d', '"%d" is not a token here'],
    ['nc %h %p %', '"%" is not a token here'],
    ['nc %h\n%p', 'must be one line'],
  ])('refuses %j', (value, message) => {
    expect(() => parseProxyCommand(value, 'proxy-command')).toThrow(message);
  });

  it('takes %% before what follows it', () => {
    expect(parseProxyCommand('printf 100%%d', 'proxy-command')).toBe('printf 100%%d');
  });
});

describe('hosts: jump= per line', () => {
  const hosts = [
    `name=central role=monitoring host=10.0.1.5 jump=admin@bastion-a:2222 fingerprint=${FP}`,
    `name=web role=agent host=10.0.2.7 jump=none fingerprint=SHA256:${'w'.repeat(43)}`,
    `name=api role=agent host=10.0.3.9 fingerprint=SHA256:${'a'.repeat(43)}`,
  ].join('\n');
  const raw = {
    ...base,
    host: '',
    hosts,
    'push-password': 'pw-1234567890abcdef',
    'proxy-jump': 'bastion-b',
    'proxy-jump-ssh-key': JUMP_KEY,
    'proxy-jump-fingerprint': JUMP_FP,
  };

  it('a line with jump= goes through its own jump host, jump=none directly, the others through proxy-jump', () => {
    const s = readSettings(raw);
    const [central, web, api] = s.hosts;
    if (!central || !web || !api) throw new Error('three lines');
    expect(jumpOf(s.connection, central)).toEqual({
      host: 'bastion-a',
      port: 2222,
      username: 'admin',
      privateKey: `${JUMP_KEY}\n`,
      passphrase: undefined,
      hostKey: { kind: 'fingerprints', fingerprints: [JUMP_FP] },
    });
    expect(jumpOf(s.connection, web)).toBeUndefined();
    expect(hostSettings(s, api).connection.jump).toMatchObject({ host: 'bastion-b', port: 22, username: 'ec2-user' });
    expect(hostSettings(s, central).connection).toMatchObject({ host: '10.0.1.5', jump: { host: 'bastion-a' } });
  });

  it('a bad jump= names its line; jump= with proxy-command is refused', () => {
    expect(problemsOf({ ...raw, hosts: 'name=a role=monitoring host=h jump=x,y' })[0]).toMatch(
      /^hosts line 1: jump: "x,y" names several jump hosts/,
    );
    const both = { ...raw, 'proxy-jump': '', 'proxy-command': 'nc %h %p' };
    expect(problemsOf(both)).toEqual([
      'hosts line of central: jump= and proxy-command both say how to reach it; give one of them',
    ]);
  });
});

describe('trying again', () => {
  it('pauses 0.5 s, 1 s, 2 s, 4 s, then 5 s; a try gets a third of connect-timeout, at least 2 s', () => {
    expect([1, 2, 3, 4, 5, 9].map(pauseAfter)).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([30_000, 3_000].map(tryLength)).toEqual([10_000, 2_000]);
  });

  it.each([
    [{ code: 'ECONNREFUSED' }, false, 'connection refused (ECONNREFUSED)'],
    [{ code: 'ECONNRESET' }, true, 'connection reset (ECONNRESET)'],
    [{ code: 'EHOSTUNREACH' }, false, 'host unreachable (EHOSTUNREACH)'],
    [{ message: 'Timed out while waiting for handshake' }, false, 'no TCP connection in time'],
    [{ message: 'Timed out while waiting for handshake' }, true, 'no SSH banner or key exchange in time'],
    [
      { message: 'Connection lost before handshake' },
      true,
      'closed before the SSH banner (sshd starting, or at its MaxStartups)',
    ],
    [
      { message: '(SSH) Channel open failure: Connection refused', reason: 2 },
      true,
      'the jump host could not connect onward (Connection refused)',
    ],
  ])('%j is transient: %s', (raw, tcpUp, cause) => {
    expect(transientCause(raw, tcpUp)).toBe(cause);
  });

  it.each([
    [{ message: 'All configured authentication methods failed', level: 'client-authentication' }],
    [{ message: 'Host denied (verification failed)', level: 'handshake' }],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND nowhere' }],
    [{ message: '(SSH) Channel open failure: open failed', reason: 1 }],
    [{ message: 'Cannot parse privateKey: Unsupported key format' }],
  ])('%j is not transient', (raw) => {
    expect(transientCause(raw, true)).toBeUndefined();
  });
});
