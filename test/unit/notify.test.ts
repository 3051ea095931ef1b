import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gateProblems, swapProblems } from '../../src/engine/check';
import type { HostFacts } from '../../src/host/preflight';
import { DISCORD_MAX_CONTENT, discordPayload, postToDiscord } from '../../src/notify/discord';
import { notify } from '../../src/notify/notify';
import { afterDelivery, readState, transition, type WatchState } from '../../src/notify/outage';
import { readSettings } from '../../src/settings/settings';

const T0 = new Date('2026-11-25T07:00:00Z');
const later = (min: number) => new Date(T0.getTime() + min * 60_000);

describe('outage transitions', () => {
  const fail = { ok: false, problems: ['Loki not ready: container loki is exited'] };
  const ok = { ok: true, problems: [] };

  it('one message when an outage begins, none while it lasts, one when it is resolved', () => {
    const notices: (string | undefined)[] = [];
    let state: WatchState | undefined;
    for (const [i, now] of [ok, fail, fail, fail, ok, ok].entries()) {
      const t = transition(state, now, later(i * 10));
      notices.push(t.notice);
      state = afterDelivery(state, t, true);
    }
    expect(notices).toEqual([undefined, 'outage', undefined, undefined, 'resolved', undefined]);
  });

  it('tries an undelivered outage message again next run, and keeps the outage start', () => {
    const first = transition(undefined, fail, T0);
    const kept = afterDelivery(undefined, first, false);
    expect(kept).toMatchObject({ status: 'failing', notified: false, since: T0.toISOString() });
    const second = transition(kept, fail, later(10));
    expect(second.notice).toBe('outage');
    expect(afterDelivery(kept, second, true)).toMatchObject({ notified: true, since: T0.toISOString() });
  });

  it('sends no "resolved" for an outage nobody was told of', () => {
    const kept = afterDelivery(undefined, transition(undefined, fail, T0), false);
    expect(transition(kept, ok, later(10)).notice).toBeUndefined();
  });

  it('keeps the outage when the "resolved" message did not get out, to try again', () => {
    const failing = afterDelivery(undefined, transition(undefined, fail, T0), true);
    const t = transition(failing, ok, later(10));
    expect(t.notice).toBe('resolved');
    expect(afterDelivery(failing, t, false)).toEqual(failing);
  });

  it('treats an unreadable state file as no state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-state-'));
    expect(readState(join(dir, 'missing.json'))).toBeUndefined();
  });
});

describe('postToDiscord', () => {
  let server: Server;
  let url = '';
  let answers: ((res: ServerResponse) => void)[] = [];
  const bodies: string[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        bodies.push(body);
        (answers.shift() ?? ((r: ServerResponse) => r.writeHead(204).end()))(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/1/token`;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    bodies.length = 0;
    answers = [];
  });
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };

  it('waits as long as a 429 asks, then delivers once', async () => {
    waits.length = 0;
    answers = [
      (r) =>
        r
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' })
          .end('{"message":"You are being rate limited.","retry_after":1.5,"global":false}'),
    ];
    const d = await postToDiscord(url, 'hello', { sleep });
    expect(d).toEqual({ delivered: true, attempts: 2 });
    expect(waits).toEqual([2000]);
    expect(bodies).toHaveLength(2);
  });

  it("uses the body's retry_after when there is no header", async () => {
    waits.length = 0;
    answers = [(r) => r.writeHead(429, { 'content-type': 'application/json' }).end('{"retry_after":0.25}')];
    expect((await postToDiscord(url, 'x', { sleep })).delivered).toBe(true);
    expect(waits).toEqual([250]);
  });

  it('retries a 5xx with backoff and reports the last error', async () => {
    waits.length = 0;
    answers = Array.from({ length: 3 }, () => (r: ServerResponse) => r.writeHead(502).end('bad gateway'));
    const d = await postToDiscord(url, 'x', { sleep, maxAttempts: 3 });
    expect(d).toEqual({ delivered: false, attempts: 3, error: 'the webhook answered 502' });
    expect(waits).toEqual([1000, 2000]);
  });

  it('does not retry a 404 and says how to fix it', async () => {
    answers = [(r) => r.writeHead(404, { 'content-type': 'application/json' }).end('{"message": "Unknown Webhook"}')];
    const d = await postToDiscord(url, 'x', { sleep });
    expect(d.delivered).toBe(false);
    expect(d.attempts).toBe(1);
    expect(d.error).toMatch(/answered 404 \(Unknown Webhook\).*Fix: the webhook was deleted or the URL is wrong/);
  });

  it('reports an unreachable webhook without throwing', async () => {
    const d = await postToDiscord('http://127.0.0.1:1/none', 'x', { sleep, maxAttempts: 2 });
    expect(d.delivered).toBe(false);
    expect(d.error).toMatch(/could not be reached/);
  });

  it('keeps a message within Discord limits and pings nobody', () => {
    const p = JSON.parse(discordPayload(`@everyone ${'x'.repeat(5000)}`));
    expect(p.content).toHaveLength(DISCORD_MAX_CONTENT);
    expect(p.allowed_mentions).toEqual({ parse: [] });
  });

  it('notify: posts the outage once per outage, never a secret, and keeps the state in a file', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'md-notify-'));
    const settings = readSettings({
      host: 'dev.example.com',
      username: 'ec2-user',
      'ssh-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----',
      'grafana-admin-password': 'sup3r-secret-pw',
      'discord-webhook-url': url,
      command: 'check',
    });
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const failing = {
      ok: false,
      what: 'check',
      problems: ['Grafana not ready: login failed for admin:sup3r-secret-pw'],
    };
    const first = await notify(settings, failing, log, { stateDir, now: T0 });
    expect(first).toEqual({ notice: 'outage', delivered: true, stateChanged: true });
    const second = await notify(settings, failing, log, { stateDir, now: later(10) });
    expect(second).toEqual({ notice: undefined, delivered: undefined, stateChanged: false });
    const third = await notify(settings, { ok: true, what: 'check', problems: [] }, log, { stateDir, now: later(25) });
    expect(third.notice).toBe('resolved');
    expect(bodies).toHaveLength(2);
    const [outage, resolved] = bodies.map((b) => JSON.parse(b).content as string);
    expect(outage).toContain('**dev.example.com**: check failed');
    expect(outage).toContain('Grafana not ready');
    expect(outage).not.toContain('sup3r-secret-pw');
    expect(resolved).toContain('resolved, check passes again after 25 min');
    expect(bodies.join('')).not.toContain('sup3r-secret-pw');
    const files = readFileSync(join(stateDir, readdirSync(stateDir)[0] ?? ''), 'utf8');
    expect(JSON.parse(files)).toMatchObject({ status: 'ok' });
  });
  it('notify: keeps the state file mode 600, and no secret in it, however the secret is written', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'md-notify-'));
    const secret = 'pa"ss\\wo-123';
    const settings = readSettings({
      host: 'dev.example.com',
      username: 'ec2-user',
      'ssh-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----',
      'grafana-admin-password': secret,
      'discord-webhook-url': url,
      command: 'check',
    });
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const problems = [`Grafana not ready: login failed for admin:${secret}`];
    await notify(settings, { ok: false, what: 'check', problems }, log, { stateDir, now: T0 });
    const file = join(stateDir, readdirSync(stateDir)[0] ?? '');
    const text = readFileSync(file, 'utf8');
    expect(JSON.parse(text)).toMatchObject({
      status: 'failing',
      problems: ['Grafana not ready: login failed for admin:***'],
    });
    expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(text).not.toContain(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('problems in plain words', () => {
  it('names the service and each down target with its last error', () => {
    const problems = gateProblems(
      [
        { name: 'prometheus', ok: true, detail: 'ready', container: 'prometheus' },
        { name: 'loki', ok: false, detail: 'container loki is exited', container: 'loki' },
        { name: 'grafana', ok: true, detail: 'ready', container: 'grafana' },
        { name: 'targets', ok: false, detail: 'app server:19021 down: 404', container: 'prometheus' },
      ],
      [
        {
          job: 'app',
          instance: 'server:19021',
          health: 'down',
          lastError: 'server returned HTTP status 404 Not Found',
          lastScrape: '',
          scrapeUrl: '',
        },
      ],
    );
    expect(problems).toEqual([
      'Loki not ready: container loki is exited',
      'Prometheus target app (server:19021) is down: server returned HTTP status 404 Not Found',
    ]);
  });

  it('says when swap is nearly full', () => {
    const facts = { swapTotalBytes: 2 * 1024 ** 3, swapFreeBytes: 100 * 1024 ** 2 } as HostFacts;
    expect(swapProblems(facts)[0]).toMatch(/^Swap nearly full: 1948 of 2048 MiB used/);
    expect(swapProblems({ ...facts, swapFreeBytes: 1024 ** 3 })).toEqual([]);
  });
});
