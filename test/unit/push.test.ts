// The agent's push probe against local servers: plain HTTP with basic auth, and HTTPS (TLS over
// the tunnel, certificate checked), as remote write to a managed back end would be.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { probePush } from '../../src/health/push';
import { dirsScript, parseReceiverCert } from '../../src/host/dirs';
import { remoteLayout } from '../../src/model/layout';
import { direct } from '../helpers/direct';
import { privateTempDir } from '../helpers/private-tmp';

const seen: { path: string; auth: string; type: string; body: string }[] = [];
/** A receiver like ours: basic auth agent:right-password, then 204 for an empty write. */
function receiver(req: IncomingMessage, res: ServerResponse) {
  let body = '';
  req.setEncoding('latin1');
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    seen.push({
      path: req.url ?? '',
      auth: req.headers.authorization ?? '',
      type: req.headers['content-type'] ?? '',
      body,
    });
    const ok = req.headers.authorization === `Basic ${Buffer.from('agent:right-password').toString('base64')}`;
    res.writeHead(ok ? 204 : 401).end();
  });
}

let http: Server;
let https: Server;
let cert = '';
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'md-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  http = createHttp(receiver);
  https = createHttps({ key: readFileSync(join(dir, 'key.pem')), cert }, receiver);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
});
afterAll(() => {
  http.close();
  https.close();
});

const port = (s: Server) => (s.address() as AddressInfo).port;

describe('probePush', () => {
  it('sends a valid empty remote write with the credentials, and reads 204 as let in', async () => {
    seen.length = 0;
    const url = `http://127.0.0.1:${port(http)}/api/v1/write`;
    const ok = await probePush(
      direct,
      { name: 'remote write', url },
      { username: 'agent', password: 'right-password' },
    );
    expect(ok).toEqual({ name: 'remote write', ok: true, detail: `${url} accepts the credentials` });
    expect(seen[0]).toMatchObject({ path: '/api/v1/write', type: 'application/x-protobuf', body: '\u0000' });
    const refused = await probePush(direct, { name: 'remote write', url }, { username: 'agent', password: 'wrong' });
    expect(refused.ok).toBe(false);
    expect(refused.detail).toBe(
      `${url} answered 401 Unauthorized: push-username / push-password are not accepted there`,
    );
  });

  it("sends a URL's own user:password@ in place of the push credentials, as Prometheus and Promtail do", async () => {
    seen.length = 0;
    const at = (userinfo: string) => `http://${userinfo}@127.0.0.1:${port(http)}/api/v1/write`;
    const ok = await probePush(
      direct,
      { name: 'remote write', url: at('agent:right-password') },
      { username: 'agent', password: 'push-password' },
    );
    expect(ok.ok).toBe(true);
    expect(seen[0]?.auth).toBe(`Basic ${Buffer.from('agent:right-password').toString('base64')}`);
    const refused = await probePush(
      direct,
      { name: 'remote write', url: at('agent:wrong') },
      { username: 'agent', password: 'right-password' },
    );
    expect(refused.detail).toBe(
      `${at('…')} answered 401 Unauthorized: the user:password@ in the URL is not accepted there`,
    );
  });

  it('over HTTPS: checks the certificate, then speaks HTTP inside TLS', async () => {
    seen.length = 0;
    const url = `https://localhost:${port(https)}/loki/api/v1/push`;
    const untrusted = await probePush(
      direct,
      { name: 'Loki push', url },
      { username: 'agent', password: 'right-password' },
    );
    expect(untrusted.ok).toBe(false);
    expect(untrusted.detail).toMatch(
      /shows a TLS certificate this host does not trust \(.*self[- ]signed certificate.*\): set push-ca/,
    );
    expect(seen).toEqual([]);
    const trusted = await probePush(
      direct,
      { name: 'Loki push', url },
      { username: 'agent', password: 'right-password' },
      5_000,
      cert,
    );
    expect(trusted).toEqual({ name: 'Loki push', ok: true, detail: `${url} accepts the credentials` });
    expect(seen[0]).toMatchObject({ path: '/loki/api/v1/push', type: 'application/json', body: '{"streams":[]}' });
  });

  it("the receiver's own certificate: pinned, it is trusted at any address; another pin fails naming push-ca", async () => {
    // Made by the deploy's own script, as on a central host: its only name is the receiver's.
    const dir = privateTempDir('md-receiver-');
    const layout = remoteLayout(join(dir, 'monitoring'), dir);
    const { command, stdin } = invocation(
      dirsScript({ layout, generatePassword: false, secretKey: false, agent: false, receiverTls: true }),
    );
    const receiverCert =
      parseReceiverCert(execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' })) ?? '';
    const server = createHttps(
      { key: readFileSync(join(layout.root, 'receiver-tls/receiver.key')), cert: receiverCert },
      receiver,
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${port(server)}/api/v1/write`;
      const creds = { username: 'agent', password: 'right-password' };
      const pinned = await probePush(direct, { name: 'remote write', url }, creds, 5_000, receiverCert);
      expect(pinned).toEqual({ name: 'remote write', ok: true, detail: `${url} accepts the credentials` });
      const wrongPin = await probePush(direct, { name: 'remote write', url }, creds, 5_000, cert);
      expect(wrongPin.ok).toBe(false);
      expect(wrongPin.detail).toMatch(
        new RegExp(`^${url.replace(/[.]/g, '\\.')} shows a TLS certificate that push-ca does not pin \\(`),
      );
    } finally {
      server.close();
    }
  });

  it('names an endpoint nothing listens on', async () => {
    const r = await probePush(
      direct,
      { name: 'remote write', url: 'http://127.0.0.1:1/api/v1/write' },
      { username: 'a' },
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^http:\/\/127\.0\.0\.1:1\/api\/v1\/write cannot be reached from the host: /);
  });
});
