// Is the Discord webhook alive, and can the host reach it? Asked from the host (the TCP
// connection starts there, through the SSH connection, as Grafana's own would), with a GET on the
// webhook URL: Discord answers it with the webhook's details and posts nothing. Answers as
// Discord documents them (discord/discord-api-docs, developers/resources/webhook.mdx "Get Webhook
// with Token"; developers/topics/opcodes-and-status-codes.mdx, JSON error codes 10015 Unknown
// webhook and 50027 Invalid webhook token); the statuses that go with them (404, 401) as Discord
// sends them, quoted in Reimnop/Discord4Fabric#81 and discordjs/discord.js#10798.
import { httpFromHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError, headline } from '../errors.js';

export interface WebhookVerdict {
  /** Alerts can go out: the webhook exists and the host reached it. */
  readonly ok: boolean;
  /** Discord could not say (rate limit, its own outage): the deploy goes on with a warning. */
  readonly unsure?: boolean;
  readonly detail: string;
  readonly fix?: string;
}

const UNKNOWN_WEBHOOK = 10015;
const INVALID_WEBHOOK_TOKEN = 50027;

const NEW_WEBHOOK_FIX =
  "make a webhook in Discord (the channel's settings → Integrations → Webhooks → New Webhook), copy its URL into the secret behind discord-webhook-url and deploy again; or leave discord-webhook-url empty to deploy without Discord alerts.";

function json(body: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What Discord's answer to a GET on the webhook URL says of it. */
export function judgeWebhookAnswer(status: number, body: string): WebhookVerdict {
  const data = json(body);
  const said = typeof data?.message === 'string' ? `${status} ${data.message}` : String(status);
  const code = typeof data?.code === 'number' ? `, code ${data.code}` : '';
  if (status === 200 && typeof data?.id === 'string') {
    const name = typeof data.name === 'string' && data.name ? ` "${data.name.slice(0, 80)}"` : '';
    const channel = typeof data.channel_id === 'string' ? ` of channel ${data.channel_id}` : '';
    return { ok: true, detail: `webhook${name}${channel} exists` };
  }
  if (status === 404 && data?.code === UNKNOWN_WEBHOOK)
    return {
      ok: false,
      detail: `the Discord webhook does not exist (Discord answered ${said}${code}): it was deleted, or the URL is not the webhook's`,
      fix: NEW_WEBHOOK_FIX,
    };
  if (status === 401 && data?.code === INVALID_WEBHOOK_TOKEN)
    return {
      ok: false,
      detail: `the Discord webhook's token is wrong (Discord answered ${said}${code}): the webhook exists, but the URL's last part is not its token`,
      fix: `copy the webhook's URL again, whole (Copy Webhook URL in Discord), into the secret behind discord-webhook-url; if the token was reset, ${NEW_WEBHOOK_FIX.replace(/^make/, 'or make')}`,
    };
  if (status === 429 || status >= 500)
    return {
      ok: true,
      unsure: true,
      detail: `the host reached Discord, but Discord could not say whether the webhook exists (${said}${code})`,
    };
  return {
    ok: false,
    detail: `the webhook URL did not answer as a Discord webhook does (${said}${code})`,
    fix: `check discord-webhook-url: a Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>. ${NEW_WEBHOOK_FIX}`,
  };
}

const NO_WAY_OUT =
  /connection refused|ECONNREFUSED|no route to host|EHOSTUNREACH|network is unreachable|ENETUNREACH|name or service not known|temporary failure in name resolution|no address associated|nodename nor servname|could not resolve|unknown host|ENOTFOUND|EAI_AGAIN|took longer than|timed out|ETIMEDOUT/i;

/** Why the host could not ask Discord at all: no way out, a TLS problem, or the tunnel itself. */
export function judgeWebhookError(host: string, port: number, message: string): WebhookVerdict {
  const where = `${host}:${port}`;
  const reason = message.replace(/^.*?on the host: /, '').slice(0, 200);
  if (/administratively prohibited/i.test(message))
    return {
      ok: false,
      detail: `the host's sshd refused to open a connection to ${where} for the check (${reason})`,
      fix: 'the sshd on the host must allow TCP forwarding (AllowTcpForwarding yes, the default): the deploy checks the webhook through it.',
    };
  if (/certificate|self[- ]signed|TLS|SSL|handshake|altnames/i.test(message))
    return {
      ok: false,
      detail: `the host reached ${where}, but TLS with it failed (${reason}): something between the host and Discord answers in its place`,
      fix: 'a proxy or firewall that intercepts HTTPS, or a wrong clock on the host; Grafana would fail the same way. Let the host reach Discord directly on port 443.',
    };
  if (NO_WAY_OUT.test(message))
    return {
      ok: false,
      detail: `the host cannot reach ${where} (${reason}): Grafana on this host could not send a single alert`,
      fix: `let the host out to ${host} on TCP ${port}: the outbound rules of its security group or firewall, the network ACL, a route to the Internet (internet or NAT gateway) and a DNS server that resolves ${host}. A host that may only go out through an HTTP proxy needs Grafana to use it too (HTTPS_PROXY in Grafana's environment).`,
    };
  return {
    ok: false,
    detail: `the check of the Discord webhook at ${where} from the host failed: ${reason}`,
    fix: 'run the deploy again; if it fails the same way, report it with this message.',
  };
}

/** The webhook URL without its token, to name it in messages. */
export function webhookShown(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/(\/webhooks\/[^/]+\/)[^/]+/, '$1***')}`;
}

/**
 * Asks Discord, from the host, about the webhook. Never throws: a verdict says what happened. The
 * query string (?thread_id=, ?wait=) is for posting and left out of the GET.
 */
export async function checkWebhookFromHost(remote: RemoteHost, url: string): Promise<WebhookVerdict> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
  const token = u.pathname.split('/').pop() ?? '';
  try {
    const res = await httpFromHost(remote, url, {
      path: u.pathname,
      headers: { Accept: 'application/json' },
      timeoutMs: 10_000,
    });
    return judgeWebhookAnswer(res.status, res.body);
  } catch (e) {
    const message = token.length >= 4 ? headline(e).split(token).join('***') : headline(e);
    return judgeWebhookError(u.hostname, port, message);
  }
}

/** The verdict as the deploy's failure: nothing was changed on the host. */
export function webhookFailure(url: string, verdict: WebhookVerdict): DeployError {
  return new DeployError(
    `Alerts could not reach Discord: ${verdict.detail}. Webhook: ${webhookShown(url)}. Nothing was changed on the host.`,
    verdict.fix,
  );
}
