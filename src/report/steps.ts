// A deploy is a sequence of named steps; each reports changed / unchanged / failed and its
// duration, live in the log and at the end in the summary.
import { headline } from '../errors.js';
import { formatDuration } from '../settings/parse.js';
import type { Log } from './log.js';

export type StepStatus = 'changed' | 'unchanged' | 'failed' | 'ok';

export interface StepRecord {
  readonly name: string;
  readonly status: StepStatus;
  readonly durationMs: number;
  readonly detail?: string;
}

export interface StepOutcome {
  /** true: the step changed the host; false: it found it as wanted; undefined: a check. */
  readonly changed?: boolean;
  readonly detail?: string;
}

export class Steps {
  readonly records: StepRecord[] = [];

  constructor(private readonly log: Log) {}

  async run<T extends StepOutcome>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    if (this.log.stepStarted) this.log.stepStarted(name);
    else this.log.info(`▶ ${name}`);
    try {
      const outcome = await fn();
      const status: StepStatus = outcome.changed === undefined ? 'ok' : outcome.changed ? 'changed' : 'unchanged';
      this.record(name, status, Date.now() - started, outcome.detail);
      return outcome;
    } catch (e) {
      this.record(name, 'failed', Date.now() - started, headline(e));
      throw e;
    }
  }

  get changed(): boolean {
    return this.records.some((r) => r.status === 'changed');
  }

  private record(name: string, status: StepStatus, durationMs: number, detail?: string): void {
    const record = { name, status, durationMs, detail };
    this.records.push(record);
    if (this.log.stepEnded) {
      this.log.stepEnded(record);
      return;
    }
    const mark = status === 'failed' ? '✗' : '✓';
    this.log.info(`${mark} ${name}: ${status} in ${formatDuration(durationMs)}${detail ? ` — ${detail}` : ''}`);
  }
}
