// Alerts that can reach you: the deploy asks Discord, from the host, whether the webhook exists
// (a GET; nothing posted) and refuses a deleted webhook, a wrong token or a host with no way out
// before it changes anything; on request it has Grafana send one test notification through its
// contact point. Discord is the sandbox's stand-in (test/sandbox/images/discord), over HTTPS.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployWithAction, hostSnapshot, sandboxInputs } from '../helpers/deploy';
import { type FakeDiscord, startFakeDiscord } from '../helpers/discord';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
let discord: FakeDiscord;
const TOKEN = 'Live-Token-4b1f0c';

beforeAll(async () => {
  s = loadSandbox();
  discord = await startFakeDiscord(s, { '1111': TOKEN });
}, 60_000);
afterAll(() => discord?.stop());

function deploy(webhook: string, over: Record<string, string> = {}) {
  return deployWithAction(sandboxInputs(s, { 'discord-webhook-url': webhook, ...over }), {
    NODE_EXTRA_CA_CERTS: discord.caFile,
  });
}

/** What a run printed, less the ::add-mask:: commands that tell the runner which secrets to hide. */
const shown = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

/** A port on this machine (the sandbox host) that nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('Discord webhook', () => {
  it('a deleted webhook, a wrong token and a host with no way out fail the deploy before the host changes', async () => {
    const before = hostSnapshot(s);
    const deleted = await deploy(`${discord.base}/api/webhooks/2222/Deleted-Token-77aa`);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toMatch(
      /the Discord webhook does not exist \(Discord answered 404 Unknown Webhook, code 10015\)/,
    );
    expect(deleted.stdout).toContain('Nothing was changed on the host.');
    expect(deleted.stdout).toContain('Fix: make a webhook in Discord');

    const wrongToken = await deploy(`${discord.base}/api/webhooks/1111/Wrong-Token-5e5e`);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stdout).toMatch(/token is wrong \(Discord answered 401 Invalid Webhook Token, code 50027\)/);

    const port = await closedPort();
    const noWayOut = await deploy(`https://127.0.0.1:${port}/api/webhooks/1111/${TOKEN}`);
    expect(noWayOut.code).toBe(1);
    expect(noWayOut.stdout).toContain(`the host cannot reach 127.0.0.1:${port}`);
    expect(noWayOut.stdout).toMatch(
      /Fix: let the host out to 127\.0\.0\.1 on TCP \d+: the outbound rules of its security group/,
    );

    for (const r of [deleted, wrongToken, noWayOut]) {
      // Refused before the lock: no step after the check ran.
      expect(r.stdout).not.toMatch(/Lock: /);
      for (const secret of ['Deleted-Token-77aa', 'Wrong-Token-5e5e', TOKEN]) {
        expect(shown(r.stdout)).not.toContain(secret);
        expect(shown(r.stderr)).not.toContain(secret);
      }
    }
    expect(hostSnapshot(s)).toEqual(before);
    expect(await discord.messages()).toEqual([]);
  }, 180_000);

  it('a live webhook passes, and discord-test-notification delivers exactly one message through Grafana', async () => {
    const webhook = `${discord.base}/api/webhooks/1111/${TOKEN}`;
    const r = await deploy(webhook, { 'discord-test-notification': 'true', 'host-name': 'dev-box' });
    expect(r.stdout).not.toContain('::error::');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /Discord webhook: ok in \d+ms — webhook "alerts" of channel \d+ exists, reached from the host/,
    );
    expect(r.stdout).toMatch(
      /Discord test notification: ok in [\d.]+m?s — Grafana sent a test notification to Discord/,
    );
    const messages = await discord.messages();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.id).toBe('1111');
    expect(messages[0]?.body.content).toContain('alertname = monitoring-deploy test notification');
    expect(messages[0]?.body.content).toContain('host = dev-box');
    expect(shown(r.stdout)).not.toContain(TOKEN);
    expect(r.stdout).toContain(`::add-mask::${TOKEN}`);

    // Without the input, a redeploy checks the webhook again and posts nothing.
    const again = await deploy(webhook);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Discord webhook: ok/);
    expect(again.stdout).not.toMatch(/Discord test notification/);
    expect(await discord.messages()).toHaveLength(1);
  }, 400_000);
});
