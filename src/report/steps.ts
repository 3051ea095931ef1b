// A deploy is a sequence of named steps; each reports changed / unchanged / failed and its
// duration, live in the log and at the end in the summary.

import { formatDuration } from '../base/format.js';
import type { Log, StepRecord, StepResult, StepStatus } from '../base/log.js';
import { headline } from '../errors.js';

export class Steps {
  readonly records: StepRecord[] = [];

  constructor(private readonly log: Log) {}

  /** Runs one step, records how it went, and returns its value. */
  async run<T = void>(name: string, fn: () => Promise<StepResult<T>>): Promise<T> {
    const started = Date.now();
    if (this.log.stepStarted) this.log.stepStarted(name);
    else this.log.info(`▶ ${name}`);
    try {
      const outcome = await fn();
      const status: StepStatus = outcome.changed === undefined ? 'ok' : outcome.changed ? 'changed' : 'unchanged';
      this.record(name, status, Date.now() - started, outcome.detail);
      return outcome.value as T;
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
