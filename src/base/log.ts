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

export interface StepOutcome {
  /** true: the step changed the host; false: it found it as wanted; undefined: a check. */
  readonly changed?: boolean;
  readonly detail?: string;
}

/** A step's outcome and the value it hands to the steps after it. */
export type StepResult<T> = StepOutcome & { readonly value?: T };

export interface Log {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  /** A display that shows steps live (a terminal) takes them here instead of as lines. */
  stepStarted?(name: string): void;
  stepEnded?(record: StepRecord): void;
}

/**
 * Shorter values are not redacted: they would match ordinary text and blank it out. The inputs
 * keep every secret a message or a file could show at least this long, so none goes unmasked
 * for being short.
 */
export const MIN_MASKED_LENGTH = 4;

export function redactor(secrets: readonly string[]): (text: string) => string {
  const sorted = [...secrets].filter((s) => s.length >= MIN_MASKED_LENGTH).sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((t, s) => t.split(s).join('***'), text);
}

/**
 * The value with the secrets replaced in every string in it (object keys too), for output that
 * leaves the process as JSON: redact before serialising, since JSON escapes a secret with a "
 * or a backslash and the escaped form no longer matches.
 */
export function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (value === null || typeof value !== 'object') return value;
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return redactDeep(json.call(value), redact);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v, redact)]));
}

/** JSON.stringify of a value whose every string was redacted first. */
export function redactedJson(value: unknown, redact: (text: string) => string, indent?: number): string {
  return JSON.stringify(redactDeep(value, redact), null, indent);
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

/** Lines on stdout and stderr; a CLI run in a workflow step has them read by the runner too. */
export const consoleLog: Log = commandSafeLog({
  info: (l) => process.stdout.write(`${l}\n`),
  warn: (l) => process.stderr.write(`warning: ${l}\n`),
  error: (l) => process.stderr.write(`error: ${l}\n`),
});

/**
 * The runner of a GitHub workflow reads a step's output line by line (a line ends at CR, LF or
 * CRLF) and takes a line as a workflow command when it starts with "::" after any leading
 * whitespace, or holds "##[" anywhere (the older form): actions/runner,
 * src/Runner.Common/ActionCommand.cs (TryParseV2, TryParse) and src/Runner.Sdk/ProcessInvoker.cs.
 * Lines of ours never do; text from a host or an endpoint could (`::set-output`, `::warning::`,
 * `::stop-commands::`). This gives every such line a backslash where the command would begin,
 * so it prints as text, and ends lines at LF only.
 */
export function withoutWorkflowCommands(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/^([\s\u0085]*)::/, '$1\\::').replace(/##\[/g, '#\\#['))
    .join('\n');
}

/** A sink whose every line is printed as text: none can be read as a workflow command. */
export function commandSafeLog(log: Log): Log {
  return {
    ...log,
    info: (l) => log.info(withoutWorkflowCommands(l)),
    warn: (l) => log.warn(withoutWorkflowCommands(l)),
    error: (l) => log.error(withoutWorkflowCommands(l)),
  };
}
