// The watchdog (`command: check`) on the sandbox host: it changes nothing, names what is wrong,
// and posts one Discord message per outage and one when it is resolved. A local HTTP server
// stands in for Discord and records each POST.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployWithAction, hostSnapshot, sandboxInputs, sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox, startSshd, stopSshd } from '../helpers/sandbox';

let s: Sandbox;
let discord: Server;
let webhook = '';
/** Every POST the stand-in received, and what it answered. */
const posts: { status: number; content: string }[] = [];
/** Scripted answers for the next POSTs; 204 (Discord's "done") when empty. */
let answers: ((res: ServerResponse) => void)[] = [];

beforeAll(async () => {
  s = loadSandbox();
  discord = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const answer = answers.shift() ?? ((r: ServerResponse) => r.writeHead(204).end());
      answer(res);
      posts.push({ status: res.statusCode, content: (JSON.parse(body) as { content: string }).content });
    });
  });
  await new Promise<void>((r) => discord.listen(0, '127.0.0.1', r));
  webhook = `http://127.0.0.1:${(discord.address() as AddressInfo).port}/api/webhooks/42/watchdog-token-5d1e`;
  // The stack this watchdog watches.
  const deployed = await deployWithAction(sandboxInputs(s));
  expect(deployed.code).toBe(0);
}, 600_000);

afterAll(() => {
  discord.close();
  // Whatever a failed test left, the host is whole again for the next file.
  if (sh(`kill -0 "$(cat ${s.dir}/sshd.pid)" 2>/dev/null && echo up || echo down`) === 'down') startSshd(s);
  sh('docker start loki >/dev/null 2>&1 || true');
});

const stateDir = mkdtempSync(join(tmpdir(), 'md-watchdog-state-'));

function check(over: Record<string, string> = {}, dir = stateDir) {
  return deployWithAction(
    sandboxInputs(s, {
      command: 'check',
      'discord-webhook-url': webhook,
      'health-timeout': '20s',
      'connect-timeout': '5s',
      ...over,
    }),
    { MONITORING_DEPLOY_STATE_DIR: dir },
  );
}

describe('watchdog: command check', () => {
  it('on a healthy stack passes, changes nothing on the host, and posts nothing', async () => {
    const before = hostSnapshot(s);
    const r = await check();
    expect(r.stdout).not.toContain('::error::');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.outputs.problems ?? '')).toEqual([]);
    expect(JSON.parse(r.outputs.targets ?? '[]').map((t: { job: string }) => t.job)).toEqual(
      expect.arrayContaining(['app', 'node', 'prometheus']),
    );
    expect(r.summary).toContain('Check of 127.0.0.1 passed');
    expect(hostSnapshot(s)).toEqual(before);
    expect(posts).toEqual([]);
  });

  it('a stopped Loki: fails naming Loki, one message; still down: no new one; back: one "resolved"', async () => {
    sh('docker stop loki');
    const down = await check();
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(
      /::error::The check of 127\.0\.0\.1 failed:%0A {2}- Loki not ready: container loki is exited/,
    );
    expect(posts).toHaveLength(1);
    expect(posts[0]?.content).toMatch(
      /^🔴 \*\*127\.0\.0\.1\*\*: check failed\n- Loki not ready: container loki is exited/,
    );
    // The stopped container is named once, though both its probe and the container list see it.
    expect(posts[0]?.content.match(/loki is exited/g)).toHaveLength(1);
    expect(down.outputs['state-changed']).toBe('true');

    const stillDown = await check();
    expect(stillDown.code).toBe(1);
    expect(stillDown.stdout).toContain('outage already reported');
    expect(posts).toHaveLength(1);
    expect(stillDown.outputs['state-changed']).toBe('false');

    sh('docker start loki');
    // The Loki stand-in, like Loki, answers 503 for its first 15 s: the gate waits that out.
    const back = await check({ 'health-timeout': '90s' });
    expect(back.code).toBe(0);
    expect(posts).toHaveLength(2);
    expect(posts[1]?.content).toMatch(
      /^🟢 \*\*127\.0\.0\.1\*\*: resolved, check passes again after \d+ min\. \d+ targets up\./,
    );
    expect(back.outputs['state-changed']).toBe('true');
  });

  it('sshd stopped: fails as "host unreachable" within the connect timeout, and one message says so', async () => {
    const before = posts.length;
    stopSshd(s);
    try {
      const started = Date.now();
      const r = await check();
      const took = Date.now() - started;
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('Host unreachable: Connection refused by 127.0.0.1');
      expect(took).toBeLessThan(5_000 + 10_000); // the connect timeout, plus starting node
      expect(posts).toHaveLength(before + 1);
      expect(posts.at(-1)?.content).toContain('- Host unreachable: Connection refused by 127.0.0.1');
    } finally {
      startSshd(s);
    }
    const back = await check();
    expect(back.code).toBe(0);
    expect(posts).toHaveLength(before + 2);
    expect(posts.at(-1)?.content).toContain('resolved');
  });

  it('the webhook answering 429 then 204: the message is delivered once', async () => {
    const before = posts.length;
    answers = [
      (res) =>
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
          .end('{"message":"You are being rate limited.","retry_after":1,"global":false}'),
    ];
    // A fresh state: a new outage. The SSH port is closed, so the check fails at once.
    const r = await check({ port: '1' }, mkdtempSync(join(tmpdir(), 'md-watchdog-429-')));
    expect(r.code).toBe(1);
    expect(posts.slice(before).map((p) => p.status)).toEqual([429, 204]);
    expect(posts.at(-1)?.content).toContain('Host unreachable');
    expect(r.stdout).toContain('notify: posted the outage message to Discord');
    // The check's own result is what fails the job, not the webhook.
    expect(r.stdout).toMatch(/::error::The check of 127\.0\.0\.1 failed/);
  });

  it('a webhook that is gone is reported as a warning and does not hide the check result', async () => {
    answers = [
      (res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Unknown Webhook"}'),
    ];
    const r = await check({}, mkdtempSync(join(tmpdir(), 'md-watchdog-404-')));
    expect(r.code).toBe(0);
    expect(posts.at(-1)?.status).not.toBe(404); // healthy: nothing was posted at all
    sh('docker stop loki');
    try {
      answers = [
        (res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Unknown Webhook"}'),
      ];
      const down = await check({}, mkdtempSync(join(tmpdir(), 'md-watchdog-404-')));
      expect(down.code).toBe(1);
      expect(down.stdout).toMatch(
        /::warning::notify: the outage message was not delivered after 1 attempt\(s\): the webhook answered 404/,
      );
      expect(down.stdout).toMatch(/::error::The check of 127\.0\.0\.1 failed:%0A {2}- Loki not ready/);
      // Only the runner's mask command carries the webhook, as the runner needs it to.
      const shown = down.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
      expect(shown.join('\n')).not.toContain('watchdog-token-5d1e');
      expect(down.summary).not.toContain('watchdog-token-5d1e');
    } finally {
      sh('docker start loki');
    }
  });

  it('a failed deploy with notify-on: failure posts one message', async () => {
    const before = posts.length;
    const r = await deployWithAction(
      sandboxInputs(s, {
        'host-fingerprint': 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        'discord-webhook-url': webhook,
        'notify-on': 'failure',
        'host-name': 'dev-box',
      }),
      { MONITORING_DEPLOY_STATE_DIR: mkdtempSync(join(tmpdir(), 'md-watchdog-deploy-')) },
    );
    expect(r.code).toBe(1);
    expect(posts).toHaveLength(before + 1);
    expect(posts.at(-1)?.content).toMatch(/^🔴 \*\*dev-box\*\*: deploy failed\n- Host key mismatch/);
  });
});
