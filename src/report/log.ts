// Where progress goes: the job log (action) or the terminal (CLI). Every line passes through
// the redactor, so a secret that slips into an error message is still not printed.

export type StepStatus = 'changed' | 'unchanged' | 'failed' | 'ok';

/** A finished step, as the log, the terminal and the summary show it. */
export interface StepRecord {
  readonly name: string;
  readonly status: StepStatus;
  readonly durationMs: number;
  readonly detail?: string;
}

export interface Log {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  /** A display that shows steps live (a terminal) takes them here instead of as lines. */
  stepStarted?(name: string): void;
  stepEnded?(record: StepRecord): void;
}

export function redactor(secrets: readonly string[]): (text: string) => string {
  const sorted = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((t, s) => t.split(s).join('***'), text);
}

export function redactingLog(log: Log, secrets: readonly string[]): Log {
  const redact = redactor(secrets);
  const { stepStarted, stepEnded } = log;
  return {
    info: (l) => log.info(redact(l)),
    warn: (l) => log.warn(redact(l)),
    error: (l) => log.error(redact(l)),
    ...(stepStarted && stepEnded
      ? {
          stepStarted: (name: string) => stepStarted.call(log, redact(name)),
          stepEnded: (r: StepRecord) =>
            stepEnded.call(log, { ...r, name: redact(r.name), detail: r.detail && redact(r.detail) }),
        }
      : {}),
  };
}

export const consoleLog: Log = {
  info: (l) => process.stdout.write(`${l}\n`),
  warn: (l) => process.stderr.write(`warning: ${l}\n`),
  error: (l) => process.stderr.write(`error: ${l}\n`),
};
