// Reaching a host is tried again when the failure is of the kind that passes (nothing listens
// yet, a reset during key exchange, no banner yet: a host still booting, a flaky path), within
// connect-timeout, with a growing pause between tries. A failure that would be the same next
// time (a host key that does not match, a refused key or user, a proxy command that gives up)
// ends the connect at once: trying again would only hide it or knock on the door of a server
// that already said no.
import { formatDuration } from '../base/format.js';
import type { Log } from '../base/log.js';
import type { DeployError } from '../errors.js';

/** One failed try: the error to show, and when the failure may pass, why (for the log). */
export class FailedTry extends Error {
  constructor(
    readonly error: DeployError,
    readonly transient?: string,
  ) {
    super(error.message);
    this.name = 'FailedTry';
  }
}

/** What a failed connect looks like at the socket or the SSH library (ssh2's code, level, message). */
export interface RawFailure {
  readonly code?: string | number;
  readonly level?: string;
  readonly reason?: number | string;
  readonly message?: string;
}

// Socket codes of failures that pass: nothing listening yet, no route yet, a reset.
export const TRANSIENT_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  EAI_AGAIN: 'name lookup failed for now',
};

// SSH_OPEN_CONNECT_FAILED: a jump host could not connect onward (RFC 4254 5.1); 4: resource shortage.
const CHANNEL_CONNECT_FAILED = 2;
const CHANNEL_RESOURCE_SHORTAGE = 4;

/**
 * Why a failed connect may pass, in words for the log; undefined when it would fail the same way
 * again. `tcpUp`: whether the TCP connection (or the proxy's pipe) was up when it failed.
 */
export function transientCause(e: RawFailure, tcpUp: boolean): string | undefined {
  const byCode = typeof e.code === 'string' ? TRANSIENT_CODES[e.code] : undefined;
  if (byCode) return `${byCode} (${e.code})`;
  const message = e.message ?? '';
  if (/Timed out while waiting for handshake/i.test(message))
    return tcpUp ? 'no SSH banner or key exchange in time' : 'no TCP connection in time';
  if (/Connection lost before handshake|No response from server/i.test(message))
    return 'closed before the SSH banner (sshd starting, or at its MaxStartups)';
  if (e.reason === CHANNEL_CONNECT_FAILED || e.reason === CHANNEL_RESOURCE_SHORTAGE)
    return `the jump host could not connect onward (${channelFailureWords(message)})`;
  return undefined;
}

/** What a jump host said when it would not open a channel, without ssh2's prefix. */
export function channelFailureWords(message: string): string {
  return message.replace(/^\(SSH\) Channel open failure: /, '');
}

const FIRST_PAUSE_MS = 500;
const LONGEST_PAUSE_MS = 5_000;
/** A try that would get less than this is not started. */
const SHORTEST_TRY_MS = 1_000;

/** The pause after try n (1-based): 0.5 s, 1 s, 2 s, 4 s, then 5 s. */
export function pauseAfter(n: number): number {
  return Math.min(FIRST_PAUSE_MS * 2 ** (n - 1), LONGEST_PAUSE_MS);
}

/**
 * How long one try may take: a third of connect-timeout (at least 2 s), so that a host that
 * takes a connection but sends no banner yet (still booting) leaves time for more tries.
 */
export function tryLength(budgetMs: number): number {
  return Math.max(2_000, Math.round(budgetMs / 3));
}

export interface TriesOptions {
  /** connect-timeout: every try and pause fits in it. */
  readonly budgetMs: number;
  /** Where the tries go, for the log: "ec2-user@host:22". */
  readonly where: string;
  readonly log?: Log;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The result of the try that got through, and how many it took. */
export interface Reached<T> {
  readonly value: T;
  readonly tries: number;
}

/**
 * Runs `attempt` (given the time its try must end by) until it succeeds, a failure is not
 * transient, or connect-timeout is spent. A FailedTry's error is what is finally thrown, with
 * the number of tries when there were several; any other error is thrown as it is.
 */
export async function withTries<T>(
  options: TriesOptions,
  attempt: (endsAt: number) => Promise<T>,
): Promise<Reached<T>> {
  const { budgetMs, where, log } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  const endsAt = started + budgetMs;
  for (let n = 1; ; n++) {
    try {
      const value = await attempt(Math.min(endsAt, Date.now() + tryLength(budgetMs)));
      if (n > 1)
        log?.info(`Connect: reached ${where} on try ${n}, ${formatDuration(Date.now() - started)} after the first`);
      return { value, tries: n };
    } catch (e) {
      if (!(e instanceof FailedTry)) throw e;
      const pause = Math.min(pauseAfter(n), endsAt - Date.now() - SHORTEST_TRY_MS);
      if (!e.transient || pause < 0) throw afterTries(e, n, Date.now() - started, budgetMs);
      log?.warn(
        `Connect: try ${n} to ${where} failed: ${e.transient}; trying again in ${formatDuration(pause)} (connect-timeout ${formatDuration(budgetMs)}, ${formatDuration(endsAt - Date.now())} left)`,
      );
      await sleep(pause);
    }
  }
}

/** The last try's error; when there were several tries, its first line says how many and how long. */
function afterTries(failed: FailedTry, tries: number, spentMs: number, budgetMs: number): DeployError {
  const { error } = failed;
  if (tries === 1) return error;
  const [first = '', ...rest] = error.message.split('\n');
  const fixAt = rest.findIndex((l) => l.startsWith('Fix: '));
  const body = [first, ...rest.slice(0, fixAt < 0 ? rest.length : fixAt)].join('\n');
  const told = `${body}\n(${tries} tries in ${formatDuration(spentMs)}, within connect-timeout ${formatDuration(budgetMs)}${failed.transient ? `; the last: ${failed.transient}` : ''})`;
  const Same = error.constructor as new (message: string, fix?: string) => DeployError;
  return new Same(told, error.fix);
}
