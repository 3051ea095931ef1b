// HTTP to services that are only on the host's internal Docker network, through an SSH tunnel:
// nothing needs to be published for the deploy to check it.
import { STATUS_CODES } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { rootCertificates, connect as tlsConnect } from 'node:tls';
import { firstLine } from '../base/format.js';
import { DeployError } from '../errors.js';
import type { RemoteHost } from './ssh.js';
import { pinnedName } from './tls.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface HttpRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

/** A status as people know it: `401 Unauthorized`, `502 Bad Gateway`. */
export function statusWords(status: number): string {
  const words = STATUS_CODES[status];
  return words ? `${status} ${words}` : String(status);
}

/**
 * An answer in a few words: its status, and the first line of its body unless that only repeats
 * the status or is a page of HTML (a proxy's error page says nothing more).
 */
export function answerWords(status: number, body: string): string {
  const first = firstLine(body, 120);
  const said = first && !first.startsWith('<') && first !== STATUS_CODES[status] ? `: ${first}` : '';
  return `${statusWords(status)}${said}`;
}

/**
 * The user:password@ of a URL, decoded, if it has one. Prometheus and Promtail send these in
 * place of their basic_auth settings (Go's client sets them first; the basic_auth wrapper then
 * leaves the request alone).
 */
export function credentialsIn(url: string): { readonly username: string; readonly password: string } | undefined {
  const u = new URL(url);
  return u.username || u.password
    ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
    : undefined;
}

/** The Authorization header for basic auth, or none without a password. */
export function basicAuth(credentials: {
  readonly username: string;
  readonly password?: string;
}): Record<string, string> {
  return credentials.password
    ? { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` }
    : {};
}

/** Sends one HTTP/1.0 request over an open stream and reads the response until the peer closes. */
export function httpOverStream(stream: Duplex, hostHeader: string, req: HttpRequest): Promise<HttpResponse> {
  const timeoutMs = req.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new DeployError(`No HTTP answer from ${hostHeader}${req.path} within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      // The answer is complete and the server has closed its side: release the channel.
      stream.destroy();
      try {
        resolve(parseHttpResponse(Buffer.concat(chunks)));
      } catch (e) {
        reject(new DeployError(`Bad HTTP answer from ${hostHeader}${req.path}: ${(e as Error).message}`));
      }
    };
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', finish);
    stream.once('close', () => {
      if (!stream.readableEnded) finish();
    });
    stream.once('error', (e: Error) => {
      clearTimeout(timer);
      reject(new DeployError(`HTTP to ${hostHeader}${req.path} failed: ${e.message}`));
    });
    const body = req.body ?? '';
    const headers: Record<string, string> = {
      Host: hostHeader,
      'User-Agent': 'monitoring-deploy',
      Accept: '*/*',
      Connection: 'close',
      ...(req.method === 'POST' ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
      ...req.headers,
    };
    const head = `${req.method ?? 'GET'} ${req.path} HTTP/1.0\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;
    // No half-close: Go servers cancel a request whose client half-closed, a proxy logs it as
    // the client giving up (nginx: 499), and TLS has none. Connection: close ends the exchange.
    stream.write(head + body);
  });
}

export function parseHttpResponse(raw: Buffer): HttpResponse {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) throw new Error(raw.length ? 'no end of headers' : 'empty response (connection closed)');
  const [statusLine = '', ...headerLines] = raw.subarray(0, split).toString('latin1').split('\r\n');
  const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine);
  if (!m?.[1]) throw new Error(`no status line: ${statusLine.slice(0, 80)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(split + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** An HTTP request to address:port as seen from the host, through the SSH connection. */
export async function httpViaHost(
  remote: RemoteHost,
  address: string,
  port: number,
  req: HttpRequest,
): Promise<HttpResponse> {
  const channel = await remote.tunnel(address, port, req.timeoutMs);
  return httpOverStream(channel, `${address}:${port}`, req);
}

/**
 * An HTTP(S) request to a URL as the host reaches it: the connection starts on the host, through
 * the SSH connection (the path the host's own agents use; an endpoint may be reachable only from
 * there), with TLS spoken over the tunnel for https. The request's path defaults to the URL's
 * path and query. A user:password@ in the URL is not sent: credentials are the caller's choice
 * (its Authorization header). `ca`: an extra trusted CA (PEM); the system's CAs always count.
 */
export async function httpFromHost(
  remote: RemoteHost,
  url: string,
  req: Omit<HttpRequest, 'path'> & { readonly path?: string } = {},
  ca?: string,
): Promise<HttpResponse> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const port = Number(u.port) || (tls ? 443 : 80);
  // URL keeps IPv6 hosts in brackets; a socket wants the bare address.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const channel = await remote.tunnel(host, port, req.timeoutMs);
  return httpOverStream(
    tls
      ? tlsConnect({
          socket: channel,
          // The name the certificate must carry: the receiver's own for its pinned certificate
          // (agents reach it by an address it cannot know), else the URL's host. An address is
          // checked against the certificate's IP names without SNI (which takes no addresses).
          host,
          ...(pinnedName(ca) ? { servername: pinnedName(ca) } : isIP(host) ? {} : { servername: host }),
          ...(ca ? { ca: [...rootCertificates, ca] } : {}),
        })
      : channel,
    u.host,
    { ...req, path: req.path ?? `${u.pathname}${u.search}` },
  );
}
