// known_hosts text as the known-hosts input gives it: its lines split into fields, and what is
// wrong with them (checked with the other inputs, before any connection).

export interface KnownHostsLine {
  /** 1-based, as an editor counts. */
  readonly number: number;
  readonly marker?: string;
  readonly hosts?: string;
  readonly keyType?: string;
  readonly key?: string;
}

/** The non-blank, non-comment lines of known_hosts text, split into their fields. */
export function knownHostsLines(text: string): KnownHostsLine[] {
  const out: KnownHostsLine[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [hosts, keyType, key] = fields;
    out.push({ number: i + 1, marker, hosts, keyType, key });
  }
  return out;
}

const KEY_TYPE = /^[a-z0-9@.-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * What is wrong with known-hosts text, one message per bad line: an unknown marker (OpenSSH
 * ignores such a line; trusting it would be worse), @cert-authority (host certificates are not
 * supported), or a line that is not `HOSTS KEYTYPE BASE64-KEY`.
 */
export function knownHostsProblems(text: string): string[] {
  const out: string[] = [];
  for (const l of knownHostsLines(text)) {
    const where = `known-hosts line ${l.number}`;
    if (l.marker === '@cert-authority') {
      out.push(
        `${where}: @cert-authority lines are not supported (no host certificates); pin the host's own key with a plain known_hosts line or host-fingerprint`,
      );
    } else if (l.marker !== undefined && l.marker !== '@revoked') {
      out.push(
        `${where}: unknown marker "${l.marker}" (only @revoked is supported); fix the marker or remove the line`,
      );
    } else if (!l.hosts || !l.keyType || !l.key || !KEY_TYPE.test(l.keyType) || !BASE64.test(l.key)) {
      out.push(
        `${where}: expected HOSTS KEYTYPE BASE64-KEY, as ssh-keyscan prints (e.g. host.example.com ssh-ed25519 AAAA…)`,
      );
    }
  }
  return out;
}
