// After a check (or a deploy with notify-on: failure): decide from the kept state whether this
// run begins or ends an outage, post that one message, and keep the new state. A webhook
// problem is logged as a warning and never changes the run's own result.
import type { Log } from '../base/log.js';
import { redactor } from '../base/log.js';
import type { Settings } from '../settings/settings.js';
import { type PostOptions, postToDiscord } from './discord.js';
import { afterDelivery, type Notice, readState, sameState, stateFile, transition, writeState } from './outage.js';

export interface Outcome {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** What ran: "check" or "deploy". */
  readonly what: string;
  /** A line for the resolved message, e.g. "3 targets up". */
  readonly healthyDetail?: string;
}

export interface NotifyOptions {
  /** Where the watchdog state is kept between runs (restored by actions/cache). */
  readonly stateDir?: string;
  /** A link to this run, for the message. */
  readonly runUrl?: string;
  readonly now?: Date;
  readonly post?: PostOptions;
}

export interface NotifyResult {
  readonly notice?: Notice;
  readonly delivered?: boolean;
  readonly stateChanged: boolean;
}

export async function notify(
  settings: Settings,
  given: Outcome,
  log: Log,
  options: NotifyOptions = {},
): Promise<NotifyResult> {
  const webhook = settings.grafana.discordWebhookUrl;
  if (settings.notifyOn === 'never' || !webhook) return { stateChanged: false };
  const now = options.now ?? new Date();
  const file = options.stateDir
    ? stateFile(options.stateDir, settings.connection.host, settings.connection.port)
    : undefined;
  if (!file) log.warn('notify: no state directory (MONITORING_DEPLOY_STATE_DIR), so every failed run posts a message.');
  const previous = file ? readState(file) : undefined;
  // The state file is kept in the actions cache: its problems are redacted like every message.
  const redact = redactor(settings.secrets);
  const outcome = { ...given, problems: given.problems.map(redact) };
  const t = transition(previous, outcome, now);
  let delivered: boolean | undefined;
  if (t.notice) {
    const text =
      t.notice === 'outage'
        ? outageMessage(settings.hostName, outcome, now, options.runUrl)
        : resolvedMessage(settings.hostName, outcome, previous?.since, now, options.runUrl);
    // The message leaves this machine: no secret may be in it, even inside a container's error.
    const delivery = await postToDiscord(webhook, redact(text), options.post);
    delivered = delivery.delivered;
    if (delivered) log.info(`notify: posted the ${t.notice} message to Discord`);
    else
      log.warn(
        `notify: the ${t.notice} message was not delivered after ${delivery.attempts} attempt(s): ${delivery.error}`,
      );
  } else if (!outcome.ok) {
    log.info(`notify: outage already reported (since ${previous?.since}); no new message`);
  }
  const next = afterDelivery(previous, t, delivered ?? false);
  const stateChanged = !!file && !sameState(previous, next);
  if (file && stateChanged) writeState(file, next);
  return { notice: t.notice, delivered, stateChanged };
}

export function outageMessage(host: string, outcome: Outcome, at: Date, runUrl?: string): string {
  return [
    `🔴 **${host}**: ${outcome.what} failed`,
    ...outcome.problems.slice(0, 12).map((p) => `- ${p}`),
    ...(outcome.problems.length > 12 ? [`- … and ${outcome.problems.length - 12} more`] : []),
    `Since ${clock(at)}.${runUrl ? ` Run: ${runUrl}` : ''}`,
  ].join('\n');
}

export function resolvedMessage(
  host: string,
  outcome: Outcome,
  since: string | undefined,
  at: Date,
  runUrl?: string,
): string {
  const lasted = since ? ` after ${humanDuration(at.getTime() - Date.parse(since))}` : '';
  return [
    `🟢 **${host}**: resolved, ${outcome.what} passes again${lasted}.${outcome.healthyDetail ? ` ${outcome.healthyDetail}.` : ''}`,
    ...(runUrl ? [`Run: ${runUrl}`] : []),
  ].join('\n');
}

function clock(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function humanDuration(ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return `${h} h ${min % 60} min`;
}

/** This run's page, from the variables every GitHub Actions job has. */
export function runUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
  return server && repo && run ? `${server}/${repo}/actions/runs/${run}` : undefined;
}
