// TEST FIXTURE: a basic-auth HTTP proxy in front of a real Prometheus. It answers 401 unless a request
// carries the right user and password, and forwards the rest to Prometheus' HTTP API. A Grafana data
// source pointed at it is healthy only if Grafana sent the password it was given: after a restore,
// that shows the saved password was decrypted (Prometheus itself takes no password, and no service
// of the sandbox's stack asks for one on its query API).
//
// In the sandbox it runs in the test process on the sandbox host, listening on every address; the
// stack's containers reach it at the Docker engine's default bridge gateway (docker0), as they reach
// the Discord stand-in (test/helpers/discord.ts). That address stays the same when the stack's own
// network is removed and made again, so a data source saved before a teardown still points at it.
import { execFile, execFileSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PasswordProxy {
  readonly port: number;
  /** The proxy's URL at this host address (as the data source's `url`). */
  url(host: string): string;
  /** How many requests came with the right password, and how many were refused. */
  readonly seen: { accepted: number; refused: number };
  stop(): Promise<void>;
}

export interface PasswordProxyOptions {
  readonly user: string;
  readonly password: string;
  /** Prometheus' base URL (http://address:9090), looked up for each request: it may move. */
  readonly upstream: () => Promise<string>;
  /** Where to listen: 127.0.0.1 for local tests, 0.0.0.0 for the sandbox's containers. */
  readonly listen?: string;
}

function rightCredentials(header: string | undefined, user: string, password: string): boolean {
  const m = /^Basic (.+)$/i.exec(header ?? '');
  return !!m?.[1] && Buffer.from(m[1], 'base64').toString() === `${user}:${password}`;
}

export async function startPasswordProxy(o: PasswordProxyOptions): Promise<PasswordProxy> {
  const seen = { accepted: 0, refused: 0 };
  const server = createServer((req, res) => {
    if (!rightCredentials(req.headers.authorization, o.user, o.password)) {
      seen.refused++;
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="password-proxy"', 'Content-Type': 'text/plain' });
      res.end('Unauthorized\n');
      return;
    }
    seen.accepted++;
    o.upstream()
      .then((base) => {
        const { authorization: _, host: __, ...headers } = req.headers;
        const out = request(`${base}${req.url}`, { method: req.method, headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
          up.pipe(res);
        });
        out.on('error', (e) => {
          res.writeHead(502, { 'Content-Type': 'text/plain' });
          res.end(`password-proxy: Prometheus at ${base} did not answer: ${e.message}\n`);
        });
        req.pipe(out);
      })
      .catch((e: Error) => {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(`password-proxy: no Prometheus to forward to: ${e.message}\n`);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, o.listen ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (host) => `http://${host}:${port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The Docker engine's default bridge gateway: the sandbox host's address as its containers reach it. */
export function dockerBridgeGateway(): string {
  const gateway = execFileSync(
    'docker',
    ['network', 'inspect', 'bridge', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}'],
    { encoding: 'utf8' },
  ).trim();
  if (!gateway) throw new Error("the Docker engine's bridge network has no gateway address");
  return gateway;
}

/** The sandbox's Prometheus (the `prometheus` container) as this host reaches it, at each call. */
export function sandboxPrometheus(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'docker',
      ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', 'prometheus'],
      (err, out) => {
        const address = out?.trim().split(' ')[0];
        if (err || !address) reject(new Error(`no running prometheus container (${err?.message ?? 'no address'})`));
        else resolve(`http://${address}:9090`);
      },
    ),
  );
}

/**
 * The fixture as an e2e test starts it on the sandbox host: in front of the stack's Prometheus, its
 * `url` the one a data source in the sandbox's Grafana uses.
 */
export async function startSandboxPasswordProxy(user: string, password: string) {
  const proxy = await startPasswordProxy({ user, password, upstream: sandboxPrometheus, listen: '0.0.0.0' });
  return { ...proxy, datasourceUrl: proxy.url(dockerBridgeGateway()) };
}
