// An agent's gate asks, from the agent host itself, whether the central endpoints take its
// credentials: one empty write to each. A 401 here names the cause at once, instead of a gate
// that only times out waiting for data that is being refused.
import {
  answerWords,
  basicAuth,
  credentialsIn,
  type HttpRequest,
  httpFromHost,
  statusWords,
} from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { headline } from '../errors.js';
import { withoutUserinfo } from '../settings/parse.js';
import type { CheckState } from './probes.js';

export interface PushTarget {
  readonly name: 'remote write' | 'Loki push';
  readonly url: string;
}

export interface PushCredentials {
  readonly username: string;
  readonly password?: string;
}

/** What to send so that a real receiver answers without storing anything. */
function emptyWrite(target: PushTarget): Pick<HttpRequest, 'headers' | 'body'> {
  return target.name === 'remote write'
    ? {
        headers: {
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
        },
        // Snappy's encoding of an empty WriteRequest: a valid write of no samples.
        body: '\u0000',
      }
    : { headers: { 'Content-Type': 'application/json' }, body: '{"streams":[]}' };
}

/**
 * How an answer to an empty write reads: 2xx, or a 400/422 from a receiver that wants samples
 * (Loki 3 answers 422 "at least one valid stream is required"), means the credentials let it in.
 */
export function judgePush(target: PushTarget, status: number, body: string): string | undefined {
  const at = withoutUserinfo(target.url);
  if (status === 401 || status === 403) {
    const which = credentialsIn(target.url) ? 'the user:password@ in the URL is' : 'push-username / push-password are';
    return `${at} answered ${statusWords(status)}: ${which} not accepted there`;
  }
  if (status === 404) return `${at} answered 404: no ${target.name} endpoint at that path`;
  if ((status >= 200 && status < 300) || status === 400 || status === 422) return undefined;
  // A proxy in front of an engine that is down answers 502, 503 or 504 with a page of its own.
  return `${at} answered ${answerWords(status, body)}`;
}

export async function probePush(
  remote: RemoteHost,
  target: PushTarget,
  credentials: PushCredentials,
  timeoutMs = 5_000,
  /** The pinned certificate (PEM, push-ca): trusted next to the system's CAs. */
  ca?: string,
): Promise<CheckState> {
  const name = target.name;
  if (!URL.canParse(target.url)) return { name, ok: false, detail: `${withoutUserinfo(target.url)} is not a URL` };
  const write = emptyWrite(target);
  const req: Omit<HttpRequest, 'path'> = {
    method: 'POST',
    // As Prometheus and Promtail do: a user:password@ in the URL is sent, not the push credentials.
    headers: { ...write.headers, ...basicAuth(credentialsIn(target.url) ?? credentials) },
    body: write.body,
    timeoutMs,
  };
  try {
    // The connection starts on the agent host: this is the path its Prometheus and Promtail use.
    const res = await httpFromHost(remote, target.url, req, ca);
    const why = judgePush(target, res.status, res.body);
    return { name, ok: !why, detail: why ?? `${withoutUserinfo(target.url)} accepts the credentials` };
  } catch (e) {
    return { name, ok: false, detail: unreachable(withoutUserinfo(target.url), headline(e), ca) };
  }
}

/** Why an endpoint could not be written to, a certificate that fails the pin said as such. */
export function unreachable(url: string, why: string, ca: string | undefined): string {
  if (/certificate|self[- ]signed|altname|unable to verify|CERT_/i.test(why)) {
    return ca
      ? `${url} shows a TLS certificate that push-ca does not pin (${why}): set push-ca to that endpoint's certificate (on a monitoring-deploy central host: ~/monitoring/receiver-tls/receiver.crt)`
      : `${url} shows a TLS certificate this host does not trust (${why}): set push-ca to its certificate (a monitoring-deploy receiver's own certificate is ~/monitoring/receiver-tls/receiver.crt on the central host; \`monitoring-deploy exec … -- cat monitoring/receiver-tls/receiver.crt\` prints it)`;
  }
  return `${url} cannot be reached from the host: ${why}`;
}
