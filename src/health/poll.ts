// One poller for everything that waits on the host: look, judge, back off, give up at the
// deadline. A lost connection ends the wait at once: nothing more can be learned.

import { formatDuration } from '../base/format.js';
import type { Log } from '../base/log.js';
import { ConnectionLostError } from '../errors.js';

export interface PollOptions<T> {
  readonly timeoutMs: number;
  /** One look at the host. */
  look(): Promise<T>;
  /** Whether the look is the answer waited for. */
  done(seen: T): boolean;
  /** A look that threw (e.g. the engine restarting), as a state to keep waiting on. */
  failed(error: Error): T;
  /** What is still awaited, logged when it changes. */
  waiting(seen: T): string;
  readonly log: Log;
  /** The log line's lead: "waiting" → "  waiting (3.2s): …". */
  readonly label?: string;
  /** First pause between looks; it grows by half each time up to maxDelayMs. */
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface PollResult<T> {
  readonly seen: T;
  readonly done: boolean;
  readonly elapsedMs: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function poll<T>(o: PollOptions<T>): Promise<PollResult<T>> {
  const started = Date.now();
  let delay = o.firstDelayMs ?? 1_000;
  let last = '';
  for (;;) {
    let seen: T;
    try {
      seen = await o.look();
    } catch (e) {
      if (e instanceof ConnectionLostError) throw e;
      seen = o.failed(e as Error);
    }
    if (o.done(seen)) return { seen, done: true, elapsedMs: Date.now() - started };
    const waiting = o.waiting(seen);
    if (waiting !== last) {
      o.log.info(`  ${o.label ?? 'waiting'} (${formatDuration(Date.now() - started)}): ${waiting}`);
      last = waiting;
    }
    if (Date.now() + delay > started + o.timeoutMs) return { seen, done: false, elapsedMs: Date.now() - started };
    await sleep(delay);
    delay = Math.min(Math.round(delay * 1.5), o.maxDelayMs ?? 5_000);
  }
}
