// How Discord's and Grafana's answers are read: the deleted webhook, the wrong token and the host
// with no way out each named with their fix; the token never in a message.
import { describe, expect, it } from 'vitest';
import { judgeTestAnswer, receiverTestPath, testNotificationBody } from '../../src/notify/test-notification';
import { judgeWebhookAnswer, judgeWebhookError, webhookFailure, webhookShown } from '../../src/notify/webhook';
import { webhookToken } from '../../src/settings/parse';
import { secretValues } from '../../src/settings/settings';

// Discord's example Incoming Webhook, as "Get Webhook with Token" answers it (no user).
const LIVE = JSON.stringify({
  name: 'test webhook',
  type: 1,
  channel_id: '199737254929760256',
  token: '3d89bb7572e0fb30d8128367b3b1b44fecd1726de135cbe28a41f8b2f777c372ba2939e72279b94526ff5d1bd4358d65cf11',
  avatar: null,
  guild_id: '199737254929760256',
  id: '223704706495545344',
  application_id: null,
});

describe('judgeWebhookAnswer', () => {
  it('a webhook that answers with its details is alive', () => {
    expect(judgeWebhookAnswer(200, LIVE)).toEqual({
      ok: true,
      detail: 'webhook "test webhook" of channel 199737254929760256 exists',
    });
  });

  it('names a deleted webhook (404, code 10015)', () => {
    const v = judgeWebhookAnswer(404, '{"message": "Unknown Webhook", "code": 10015}');
    expect(v.ok).toBe(false);
    expect(v.detail).toBe(
      "the Discord webhook does not exist (Discord answered 404 Unknown Webhook, code 10015): it was deleted, or the URL is not the webhook's",
    );
    expect(v.fix).toMatch(/^make a webhook in Discord/);
  });

  it('names a wrong token (401, code 50027)', () => {
    const v = judgeWebhookAnswer(401, '{"message": "Invalid Webhook Token", "code": 50027}');
    expect(v.ok).toBe(false);
    expect(v.detail).toMatch(
      /^the Discord webhook's token is wrong \(Discord answered 401 Invalid Webhook Token, code 50027\)/,
    );
    expect(v.fix).toMatch(/^copy the webhook's URL again, whole/);
  });

  it("a rate limit or Discord's own outage does not fail the deploy, but is said", () => {
    for (const [status, body] of [
      [429, '{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}'],
      [502, '<html>Bad Gateway</html>'],
    ] as const) {
      const v = judgeWebhookAnswer(status, body);
      expect(v).toMatchObject({ ok: true, unsure: true });
      expect(v.detail).toContain(`(${status}`);
    }
  });

  it('anything else is not a Discord webhook: a 200 page that is no webhook, a 404 of another kind', () => {
    expect(judgeWebhookAnswer(200, '<html>captive portal</html>').ok).toBe(false);
    const other = judgeWebhookAnswer(404, '{"message": "404: Not Found", "code": 0}');
    expect(other.ok).toBe(false);
    expect(other.detail).toBe('the webhook URL did not answer as a Discord webhook does (404 404: Not Found, code 0)');
  });
});

describe('judgeWebhookError', () => {
  const tunnel = (why: string) =>
    `Could not open a tunnel to discord.com:443 on the host: (SSH) Channel open failure: ${why}`;

  it('a host with no way out: refused, unreachable, no DNS, no answer in time', () => {
    for (const message of [
      tunnel('Connection refused'),
      tunnel('No route to host'),
      tunnel('Network is unreachable'),
      tunnel('Name or service not known'),
      tunnel('Temporary failure in name resolution'),
      'Opening a tunnel to discord.com:443 took longer than 10s',
    ]) {
      const v = judgeWebhookError('discord.com', 443, message);
      expect(v.ok).toBe(false);
      expect(v.detail).toMatch(/^the host cannot reach discord\.com:443 \(/);
      expect(v.fix).toMatch(/^let the host out to discord\.com on TCP 443: the outbound rules of its security group/);
    }
  });

  it('sshd without TCP forwarding is named as that, not as the network', () => {
    const v = judgeWebhookError('discord.com', 443, tunnel('administratively prohibited: open failed'));
    expect(v.detail).toMatch(/sshd refused/);
    expect(v.fix).toContain('AllowTcpForwarding');
  });

  it('a TLS failure points at an intercepting proxy or the clock', () => {
    const v = judgeWebhookError(
      'discord.com',
      443,
      'HTTP to discord.com/api/webhooks/1/*** failed: self-signed certificate in certificate chain',
    );
    expect(v.detail).toMatch(/TLS with it failed/);
    expect(v.fix).toMatch(/intercepts HTTPS/);
  });
});

describe('messages never show the token', () => {
  const url = 'https://discord.com/api/webhooks/1234567890/Secret-Token-abc123?thread_id=5';

  it('webhookShown hides it; the failure names the webhook without it', () => {
    expect(webhookShown(url)).toBe('https://discord.com/api/webhooks/1234567890/***');
    const e = webhookFailure(url, judgeWebhookAnswer(404, '{"message": "Unknown Webhook", "code": 10015}'));
    expect(e.message).not.toContain('Secret-Token-abc123');
    expect(e.message).toContain('Nothing was changed on the host.');
  });

  it('the token alone is a secret to redact', () => {
    expect(webhookToken(url)).toBe('Secret-Token-abc123');
    expect(webhookToken('https://example.com/hook')).toBeUndefined();
    expect(secretValues({ 'discord-webhook-url': url })).toContain('Secret-Token-abc123');
  });
});

describe("Grafana's contact point test", () => {
  it('goes to the receiver named by base64url of its name, and sends no webhook URL', () => {
    expect(receiverTestPath('discord')).toBe(
      '/apis/notifications.alerting.grafana.app/v1beta1/namespaces/default/receivers/ZGlzY29yZA/test',
    );
    const body = JSON.parse(testNotificationBody('dev-box', 'abc123'));
    expect(body.integration).toEqual({
      uid: 'md-discord',
      type: 'discord',
      version: 'v1',
      settings: {},
      secureFields: { url: true },
    });
    expect(body.alert.labels.host).toBe('dev-box');
  });

  it('reads success, a failed delivery, a missing contact point and an old Grafana', () => {
    expect(judgeTestAnswer(200, '{"status":"success","duration":"153.2ms"}')).toEqual({
      detail: 'Grafana sent a test notification to Discord in 153.2ms',
    });
    const failed = judgeTestAnswer(200, '{"status":"failure","duration":"1s","error":"unexpected status code 404"}');
    expect(failed.error?.message).toMatch(
      /^Grafana could not deliver the test notification to Discord: unexpected status code 404/,
    );
    expect(judgeTestAnswer(404, '{"message":"receiver not found"}').error?.message).toMatch(
      /no contact point "discord"/,
    );
    expect(judgeTestAnswer(401, '{"message":"Invalid username or password"}').error?.message).toMatch(/refused.*401/);
  });
});
