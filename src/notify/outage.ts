// The watchdog's memory between scheduled runs: is this host in an outage, since when, and did a
// message about it get out? One message when an outage begins, none while it lasts, one when it
// is resolved. The state lives on the runner (restored and saved by actions/cache in the
// composite action), because when the host is down it cannot be asked.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WatchState {
  readonly status: 'ok' | 'failing';
  /** When the current status began (ISO time). */
  readonly since: string;
  readonly problems: readonly string[];
  /** For an outage: whether its message was delivered (if not, the next run tries again). */
  readonly notified: boolean;
}

export type Notice = 'outage' | 'resolved';

export interface Transition {
  readonly next: WatchState;
  readonly notice?: Notice;
}

/** What this run should post, given the last state and this run's result. */
export function transition(
  previous: WatchState | undefined,
  now: { ok: boolean; problems: readonly string[] },
  at: Date,
): Transition {
  const iso = at.toISOString();
  if (now.ok) {
    if (previous?.status !== 'failing')
      return { next: { status: 'ok', since: previous?.since ?? iso, problems: [], notified: false } };
    const next: WatchState = { status: 'ok', since: iso, problems: [], notified: false };
    // Nobody was told of the outage: no "resolved" for it either.
    return previous.notified ? { next, notice: 'resolved' } : { next };
  }
  if (previous?.status === 'failing') {
    const next = { ...previous, problems: now.problems };
    return previous.notified ? { next } : { next, notice: 'outage' };
  }
  return { next: { status: 'failing', since: iso, problems: now.problems, notified: false }, notice: 'outage' };
}

/** The state to keep after trying to post: an undelivered notice is tried again next run. */
export function afterDelivery(previous: WatchState | undefined, t: Transition, delivered: boolean): WatchState {
  if (!t.notice) return t.next;
  if (t.notice === 'outage') return { ...t.next, notified: delivered };
  return delivered ? t.next : (previous ?? t.next);
}

/** One file per host in the state directory. */
export function stateFile(dir: string, host: string, port: number): string {
  const key = createHash('sha256').update(`${host}:${port}`).digest('hex').slice(0, 16);
  return join(dir, `${key}.json`);
}

export function readState(file: string): WatchState | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<WatchState>;
    if ((s.status === 'ok' || s.status === 'failing') && typeof s.since === 'string') {
      return {
        status: s.status,
        since: s.since,
        problems: Array.isArray(s.problems) ? s.problems.map(String) : [],
        notified: s.notified === true,
      };
    }
  } catch {}
  // Missing or unreadable (first run, evicted cache): as if nothing was known.
  return undefined;
}

/** Only the runner's user may read it (mode 600, in a mode-700 directory when it makes one). */
export function writeState(file: string, state: WatchState): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  // A .tmp left by an earlier run keeps its mode through writeFileSync.
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}

export function sameState(a: WatchState | undefined, b: WatchState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
