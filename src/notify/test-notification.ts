// One test notification through Grafana's own Discord contact point, for a user who wants proof
// that alerts reach the channel. Grafana 13 removed the old
// /api/alertmanager/grafana/config/api/v1/receivers/test (it answers 410 Gone since
// grafana/grafana#121692); its replacement is the receivers resource's test subresource:
//   POST /apis/notifications.alerting.grafana.app/v1beta1/namespaces/default/receivers/<uid>/test
// with {"integration": {uid, type, version, settings, secureFields}, "alert": {labels, annotations}},
// answered 200 {"status": "success" | "failure", "duration", "error"?}. The receiver's uid is
// base64url(name) without padding (NameToUid, Grafana's ngalert models); "default" is org 1's
// namespace; a secureFields entry makes Grafana use the secret it stores for that integration uid
// (ReceiverTestingService.PatchIntegrationAndTest, pkg/services/ngalert/notifier;
// apps/alerting/notifications/.../v1beta1 CreateReceiverIntegrationTestRequestBody;
// pkg/registry/apps/alerting/notifications/receiver/subresource.go). The Discord webhook URL is a
// secure field of the discord v1 integration (grafana/alerting receivers/discord/v1/config.go), so
// the deploy never sends it: Grafana posts to the URL it was provisioned with.
import { oneLine } from '../base/format.js';
import { basicAuth, httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';

/** The contact point compose/grafana/provisioning/alerting/discord.yaml provisions. */
export const DISCORD_CONTACT_POINT = { name: 'discord', integrationUid: 'md-discord' } as const;

export function receiverTestPath(receiverName: string): string {
  const uid = Buffer.from(receiverName).toString('base64url');
  return `/apis/notifications.alerting.grafana.app/v1beta1/namespaces/default/receivers/${uid}/test`;
}

export function testNotificationBody(hostName: string, release: string): string {
  return JSON.stringify({
    integration: {
      uid: DISCORD_CONTACT_POINT.integrationUid,
      type: 'discord',
      version: 'v1',
      settings: {},
      secureFields: { url: true },
    },
    alert: {
      labels: { alertname: 'monitoring-deploy test notification', severity: 'info', host: hostName },
      annotations: {
        summary: `Test notification from monitoring-deploy: release ${release} on ${hostName} is deployed, and its alerts reach this channel.`,
      },
    },
  });
}

function words(body: string): string {
  try {
    const d = JSON.parse(body) as { message?: unknown; error?: unknown };
    const m = typeof d.error === 'string' ? d.error : d.message;
    return oneLine(typeof m === 'string' ? m : body, 240);
  } catch {
    return oneLine(body, 240);
  }
}

/** What Grafana's answer says: the detail of a sent notification, or the error to fail with. */
export function judgeTestAnswer(status: number, body: string): { readonly detail?: string; readonly error?: Error } {
  let data: { status?: unknown; duration?: unknown; error?: unknown } = {};
  try {
    data = JSON.parse(body) as typeof data;
  } catch {}
  if (status === 200 && data.status === 'success')
    return { detail: `Grafana sent a test notification to Discord${data.duration ? ` in ${data.duration}` : ''}` };
  const fixWebhook =
    'the deploy checked the webhook from the host before it began; if it passed then, the host or Grafana cannot post to it (a proxy Grafana does not use, or the webhook was deleted since).';
  if (status === 200)
    return {
      error: new DeployError(`Grafana could not deliver the test notification to Discord: ${words(body)}`, fixWebhook),
    };
  if (status === 404)
    return {
      error: new DeployError(
        `Grafana has no contact point "${DISCORD_CONTACT_POINT.name}" with the integration uid ${DISCORD_CONTACT_POINT.integrationUid} to test (404: ${words(body)})`,
        'the test notification tests the contact point of compose/grafana/provisioning/alerting/discord.yaml; keep its name and uid in your stack, or turn discord-test-notification off.',
      ),
    };
  return {
    error: new DeployError(
      `Grafana refused the test notification (${status}: ${words(body)})`,
      status === 401
        ? 'the admin password on the host is not the one Grafana has (see Troubleshooting in the README).'
        : 'Grafana 13 tests a contact point through its receivers API; an older Grafana image has no such route.',
    ),
  };
}

export interface GrafanaAt {
  readonly address: string;
  readonly user: string;
  readonly password: string;
}

/** Sends the test notification; resolves with the step's detail or throws what went wrong. */
export async function sendTestNotification(
  remote: RemoteHost,
  grafana: GrafanaAt,
  hostName: string,
  release: string,
): Promise<string> {
  const res = await httpViaHost(remote, grafana.address, 3000, {
    method: 'POST',
    path: receiverTestPath(DISCORD_CONTACT_POINT.name),
    headers: {
      ...basicAuth({ username: grafana.user, password: grafana.password }),
      'Content-Type': 'application/json',
    },
    body: testNotificationBody(hostName, release),
    // Grafana waits for Discord before it answers.
    timeoutMs: 40_000,
  });
  const { detail, error } = judgeTestAnswer(res.status, res.body);
  if (error) throw error;
  return detail ?? '';
}
