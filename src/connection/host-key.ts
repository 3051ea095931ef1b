// Host key checks: a SHA256 fingerprint as `ssh-keygen -lf` prints it, and known_hosts lines
// (plain and hashed, `[host]:port` for a non-22 port, @revoked markers; no @cert-authority).
import { createHash, createHmac } from 'node:crypto';
import { knownHostsLines } from '../settings/known-hosts.js';
import type { HostKeyPolicy } from '../settings/settings.js';

/** `SHA256:<base64 without padding>` of a raw public key blob, as OpenSSH prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (e.g. ssh-ed25519). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

export type KnownHostsVerdict = 'match' | 'revoked' | 'mismatch' | 'no-entry';

/**
 * Checks a host key blob against known_hosts text for host:port. A key on a matching @revoked
 * line is refused wherever that line sits; lines with any other marker are never trusted.
 */
export function checkKnownHosts(text: string, host: string, port: number, keyBlob: Buffer): KnownHostsVerdict {
  const name = knownHostsName(host, port);
  const keyB64 = keyBlob.toString('base64');
  let sawEntry = false;
  let matched = false;
  for (const { marker, hosts, key } of knownHostsLines(text)) {
    if (!hosts || !key || !hostFieldMatches(hosts, name)) continue;
    if (marker === '@revoked') {
      if (key === keyB64) return 'revoked';
      continue;
    }
    if (marker !== undefined) continue;
    sawEntry = true;
    if (key === keyB64) matched = true;
  }
  return matched ? 'match' : sawEntry ? 'mismatch' : 'no-entry';
}

export interface HostKeyDecision {
  readonly accepted: boolean;
  /** Accepted because it matched a pin; false when insecure-skip-host-key-check let it in unchecked. */
  readonly verified: boolean;
  readonly fingerprint: string;
  readonly keyType: string;
  /** Why the key was refused, naming the fix; undefined when accepted. */
  readonly reason?: string;
}

/** The host key as the Connect step shows it: whether it was checked against a pin. */
export function hostKeyDetail(d: HostKeyDecision): string {
  return `host key ${d.keyType} ${d.fingerprint} ${d.verified ? 'verified' : 'NOT verified (insecure-skip-host-key-check)'}`;
}

/** Which key a check is about, for its messages: the host's, or a jump host's (with its own input). */
export interface PinNames {
  /** "" for the host itself; "jump host " for a jump host (it goes before the address). */
  readonly what: string;
  readonly fingerprintInput: string;
}

export const HOST_PIN: PinNames = { what: '', fingerprintInput: 'host-fingerprint' };
export const JUMP_PIN: PinNames = { what: 'jump host ', fingerprintInput: 'proxy-jump-fingerprint' };

/** What to say when a key was let in without a pin (insecure-skip-host-key-check); nothing otherwise. */
export function unverifiedHostKeyWarning(
  host: string,
  port: number,
  d: HostKeyDecision,
  names: PinNames = HOST_PIN,
): string | undefined {
  if (d.verified) return undefined;
  return (
    `insecure-skip-host-key-check: the host key of ${names.what}${host}:${port} was accepted without a pin: ${d.keyType} ${d.fingerprint}. ` +
    'Nothing proved this is your server; a man in the middle would have been let in the same way. ' +
    `Check the fingerprint from a trusted machine (\`ssh-keyscan -p ${port} ${host} | ssh-keygen -lf -\`) ` +
    `and set ${names.fingerprintInput}: ${d.fingerprint} instead.`
  );
}

/** Decides whether the key the server showed is the one the settings pin. */
export function decideHostKey(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  keyBlob: Buffer,
  names: PinNames = HOST_PIN,
): HostKeyDecision {
  const fingerprint = fingerprintOf(keyBlob);
  const keyType = keyTypeOf(keyBlob);
  const who = `${names.what}${host}:${port}`;
  const pinHint =
    `To pin it, check it from a trusted machine (\`ssh-keyscan -p ${port} ${host} | ssh-keygen -lf -\`) ` +
    `and set ${names.fingerprintInput} to it, or pass known-hosts lines.`;
  const refuse = (reason: string): HostKeyDecision => ({
    accepted: false,
    verified: false,
    fingerprint,
    keyType,
    reason,
  });
  const pinned: HostKeyDecision = { accepted: true, verified: true, fingerprint, keyType };
  switch (policy.kind) {
    case 'insecure-skip':
      return { accepted: true, verified: false, fingerprint, keyType };
    case 'unpinned':
      return refuse(
        `The host key of ${who} is not pinned, so the connection was refused before any change. ` +
          `The server showed ${keyType} ${fingerprint}. ${pinHint} ` +
          '(insecure-skip-host-key-check: true accepts any key, for throwaway hosts only.)',
      );
    case 'fingerprints':
      if (policy.revokedIn && checkKnownHosts(policy.revokedIn, host, port, keyBlob) === 'revoked')
        return refuse(
          `Host key check failed for ${host}:${port}: the server showed ${keyType} ${fingerprint}, which its fingerprint= pins, but known-hosts marks that key @revoked. ` +
            `Nothing was changed on the host. ${pinHint}`,
        );
      if (policy.fingerprints.includes(fingerprint)) return pinned;
      return refuse(
        `Host key mismatch for ${who}: the server showed ${keyType} ${fingerprint}, ` +
          `but ${names.fingerprintInput} expects ${policy.fingerprints.join(' or ')}. ` +
          'Either the server was rebuilt (a new host key) or someone is in the middle. ' +
          `Nothing was changed on the host. If the change is expected: ${pinHint}`,
      );
    case 'known-hosts': {
      const verdict = checkKnownHosts(policy.knownHosts, host, port, keyBlob);
      if (verdict === 'match') return pinned;
      const why =
        verdict === 'revoked'
          ? 'that key is marked @revoked in known-hosts'
          : verdict === 'mismatch'
            ? `known-hosts has a different key for ${knownHostsName(host, port)}`
            : `known-hosts has no line for ${knownHostsName(host, port)}`;
      return refuse(
        `Host key check failed for ${who}: the server showed ${keyType} ${fingerprint}, and ${why}. ` +
          `Nothing was changed on the host. ${pinHint}`,
      );
    }
  }
}
