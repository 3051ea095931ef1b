// What the stack exposes on the network. The push path between agents and the central receiver:
// the push password crosses the network on every request, so it goes over TLS unless the user
// says otherwise (receiver-tls: false) and the network is one they can call private; and it is
// long enough that no guessing reaches it. Grafana: its login, in plain HTTP, wherever
// grafana-bind publishes it.
import { BlockList, isIP } from 'node:net';
import { shown, withoutUserinfo } from './parse.js';

/** bcrypt slows guesses against a stolen htpasswd; against the receiver itself length is what counts. */
export const PUSH_PASSWORD_MIN = 16;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** RFC 1918, carrier-grade NAT (RFC 6598) and unique local IPv6 (RFC 4193): not routed on the internet. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

export type AddressReach = 'loopback' | 'private' | 'every address' | 'public';

/** Who can reach an address a port is published on. */
export function addressReach(address: string): AddressReach {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare) === 6 ? 'ipv6' : 'ipv4';
  if (bare === '0.0.0.0' || bare === '::') return 'every address';
  if (LOOPBACK.check(bare, family) || bare.toLowerCase() === 'localhost') return 'loopback';
  if (isIP(bare) && PRIVATE.check(bare, family)) return 'private';
  return 'public';
}

/** The push path's settings, as settings.ts reads them. */
export interface PushPath {
  /** The central receiver runs on the host(s) of this run. */
  readonly receiverRuns: boolean;
  readonly receiverTls: 'on' | 'off';
  readonly receiverBind: string;
  readonly receiverPort: number;
  /** An agent runs in this run, sending to (and reading from) these URLs, as given. */
  readonly agentUrls: Readonly<Record<string, string | undefined>>;
}

const TLS_FIX = 'leave receiver-tls at auto (TLS with a certificate made on the host, which agents pin)';

/** Plain HTTP where the push password would cross a network that is not private: refused. */
export function plainHttpProblems(p: PushPath): string[] {
  const out: string[] = [];
  const reach = addressReach(p.receiverBind);
  if (p.receiverRuns && p.receiverTls === 'off' && (reach === 'every address' || reach === 'public'))
    out.push(
      `receiver-tls: false serves the receiver in plain HTTP, and receiver-bind ${p.receiverBind} publishes it on ${reach === 'public' ? 'a public address' : 'every address of the host'}: the push password would cross the internet in clear. ${capitalized(TLS_FIX)}, or set receiver-bind to the host's private address (10.x, 172.16-31.x, 192.168.x) or 127.0.0.1`,
    );
  if (p.receiverTls === 'off') return out;
  for (const [input, url] of Object.entries(p.agentUrls)) {
    if (!url || !plainToAnotherHost(url)) continue;
    out.push(
      `${input}: ${shown(withoutUserinfo(url))} is plain HTTP to another host: the push (or query) password would cross the network in clear. Use https:// (with push-ca for a self-signed certificate such as a monitoring-deploy receiver's), or set receiver-tls: false to send in plain HTTP on purpose, on a private network only`,
    );
  }
  return out;
}

/** What plain HTTP the user chose (receiver-tls: false), said in the job log on every deploy. */
export function plainHttpWarnings(p: PushPath): string[] {
  if (p.receiverTls !== 'off') return [];
  const out: string[] = [];
  if (p.receiverRuns && addressReach(p.receiverBind) !== 'loopback')
    out.push(
      `The receiver speaks plain HTTP on ${p.receiverBind}:${p.receiverPort} (receiver-tls: false): the push password crosses that network in clear, and whoever reads it there can push. To close it, ${TLS_FIX}.`,
    );
  const plain = Object.entries(p.agentUrls).filter(([, url]) => url && plainToAnotherHost(url));
  if (plain.length)
    out.push(
      `${plain.map(([input]) => input).join(', ')}: plain HTTP to another host (receiver-tls: false): the push password crosses the network in clear. To close it, use https:// URLs.`,
    );
  return out;
}

function plainToAnotherHost(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  return u.protocol === 'http:' && addressReach(u.hostname) !== 'loopback';
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Grafana published beyond the host in plain HTTP: its admin login crosses the network in clear. */
export function grafanaExposureWarning(bind: string): string | undefined {
  const reach = addressReach(bind);
  if (reach === 'loopback') return undefined;
  const where = reach === 'every address' ? 'on every address of the host' : `on ${bind}`;
  return `Grafana is published ${where} (grafana-bind: ${bind}) in plain HTTP: its admin login and session cross the network in clear, and Docker's published ports bypass ufw. To close it, set grafana-bind: 127.0.0.1 and reach Grafana through an SSH tunnel (ssh -L 3000:127.0.0.1:3000 user@host, then http://127.0.0.1:3000) or a TLS proxy on the host.`;
}
