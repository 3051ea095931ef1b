import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFromHost, httpOverStream, parseHttpResponse } from '../../src/connection/http';
import type { RemoteHost } from '../../src/connection/ssh';
import { directTunnel } from '../helpers/direct';

describe('parseHttpResponse', () => {
  it('reads status, headers and body', () => {
    const r = parseHttpResponse(
      Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nIngester not ready'),
    );
    expect(r).toEqual({ status: 503, headers: { 'content-type': 'text/plain' }, body: 'Ingester not ready' });
  });
  it('decodes a chunked body', () => {
    const r = parseHttpResponse(
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
    );
    expect(r.body).toBe('hello world');
  });
  it('rejects an empty answer', () => {
    expect(() => parseHttpResponse(Buffer.alloc(0))).toThrow(/empty response/);
  });
});

describe('httpOverStream', () => {
  let server: Server;
  let port = 0;
  const seen: string[] = [];
  beforeAll(async () => {
    // A server that, like many, answers only after reading the request headers.
    server = createServer((sock) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d;
        if (buf.includes('\r\n\r\n')) {
          seen.push(buf);
          sock.end('HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"status":"success"}');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  it('sends a well-formed request and parses the answer', async () => {
    const res = await httpOverStream(connect(port, '127.0.0.1'), `prometheus:9090`, {
      path: '/api/v1/targets?state=active',
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'success' });
    expect(seen.at(-1)).toMatch(/^GET \/api\/v1\/targets\?state=active HTTP\/1\.0\r\nHost: prometheus:9090\r\n/);
  });

  it('keeps its side open until the answer, as a Go server cancels a request whose client half-closed', async () => {
    // Like Go's net/http: a FIN from the client before the answer cancels the request.
    const strict = createServer({ allowHalfOpen: true }, (sock) => {
      let cancelled = false;
      sock.on('end', () => {
        cancelled = true;
        sock.destroy();
      });
      sock.once('data', () =>
        setTimeout(() => {
          if (!cancelled) sock.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nanswered');
        }, 50),
      );
    });
    await new Promise<void>((r) => strict.listen(0, '127.0.0.1', r));
    const p = (strict.address() as { port: number }).port;
    const res = await httpOverStream(connect(p, '127.0.0.1'), 'prometheus:9090', { path: '/api/v1/query?query=up' });
    expect(res).toMatchObject({ status: 200, body: 'answered' });
    strict.close();
  });

  it('fails with the address when nothing answers in time', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const p = (silent.address() as { port: number }).port;
    await expect(
      httpOverStream(connect(p, '127.0.0.1'), 'loki:3100', { path: '/ready', timeoutMs: 300 }),
    ).rejects.toThrow('No HTTP answer from loki:3100/ready');
    silent.close();
  });
});

describe('httpFromHost', () => {
  it("opens the tunnel to the URL's host and port, and asks for its path and query", async () => {
    const requests: string[] = [];
    const server = createServer((sock) => {
      sock.once('data', (d) => {
        requests.push(String(d));
        sock.end('HTTP/1.0 200 OK\r\n\r\nok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = (server.address() as { port: number }).port;
    const tunnels: string[] = [];
    const remote = directTunnel({}, tunnels) as RemoteHost;
    const url = `http://user:secret@127.0.0.1:${p}/select/0/prometheus/api/v1/query?extra_label=a`;
    expect(await httpFromHost(remote, url)).toMatchObject({ status: 200, body: 'ok' });
    expect(tunnels).toEqual([`127.0.0.1:${p}`]);
    // The URL's user:password@ is never sent on its own, nor put in the Host header.
    expect(requests[0]).toMatch(
      new RegExp(`^GET /select/0/prometheus/api/v1/query\\?extra_label=a HTTP/1\\.0\r\nHost: 127\\.0\\.0\\.1:${p}\r\n`),
    );
    expect(requests[0]).not.toMatch(/secret|Authorization/);
    await httpFromHost(remote, url, { path: '/other?q=1' });
    expect(requests[1]).toMatch(/^GET \/other\?q=1 HTTP/);
    server.close();
  });
});
