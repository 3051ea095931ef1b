// The CLI on a terminal: the running step stays on one line with a ticking clock, and turns into
// its final line (status and duration) when it ends; other log lines scroll above it.
import { formatDuration } from '../base/format.js';
import type { Log, StepRecord } from '../base/log.js';

export interface TerminalStream {
  write(chunk: string): unknown;
  readonly columns?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';
const COLOR: Record<StepRecord['status'], string> = {
  changed: '\x1b[33m',
  unchanged: '\x1b[2m',
  ok: '\x1b[32m',
  failed: '\x1b[31m',
};
const RESET = '\x1b[0m';

/** One finished step as its final line: mark, name, status, duration, detail. */
export function stepLine(r: StepRecord, width = 120, color = false): string {
  const mark = r.status === 'failed' ? '✗' : '✓';
  const status = r.status.padEnd(9);
  const head = `${mark} ${nameColumn(r.name)} ${status} ${formatDuration(r.durationMs).padStart(6)}`;
  const line = truncate(r.detail ? `${head}  ${r.detail}` : head, width);
  return color ? `${COLOR[r.status]}${line.slice(0, head.length)}${RESET}${line.slice(head.length)}` : line;
}

const NAME_WIDTH = 28;

/** A step's name in its column: padded, or cut with … so the status stays in line. */
function nameColumn(name: string): string {
  return truncate(name, NAME_WIDTH).padEnd(NAME_WIDTH);
}

function truncate(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, Math.max(0, width - 1))}…` : s;
}

export interface LiveLog extends Log {
  stepStarted(name: string): void;
  stepEnded(record: StepRecord): void;
  /** Stops the clock; the live line, if any, is left as it is. */
  close(): void;
}

export function liveTerminalLog(
  stream: TerminalStream,
  options: { color?: boolean; tickMs?: number; now?: () => number } = {},
): LiveLog {
  const now = options.now ?? Date.now;
  // A pty without a window size reports 0 columns; COLUMNS is the shell's word for it then.
  const width = () => Math.max(40, (stream.columns || Number(process.env.COLUMNS) || 120) - 1);
  let running: { name: string; started: number; frame: number } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const draw = () => {
    if (!running) return;
    const spin = SPINNER[running.frame++ % SPINNER.length];
    const elapsed = formatDuration(now() - running.started);
    stream.write(
      `${CLEAR_LINE}${truncate(`${spin} ${nameColumn(running.name)} running   ${elapsed.padStart(6)}`, width())}`,
    );
  };
  // A log line during a step: wipe the live line, print the line, draw the live line again.
  const above = (line: string) => {
    stream.write(`${running ? CLEAR_LINE : ''}${line}\n`);
    draw();
  };
  const stopClock = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    info: above,
    warn: (l) => above(`warning: ${l}`),
    error: (l) => above(`error: ${l}`),
    stepStarted(name) {
      running = { name, started: now(), frame: 0 };
      draw();
      stopClock();
      timer = setInterval(draw, options.tickMs ?? 100);
      // The clock must never keep the process alive after the command is done.
      timer.unref?.();
    },
    stepEnded(record) {
      stopClock();
      stream.write(`${running ? CLEAR_LINE : ''}${stepLine(record, width(), options.color)}\n`);
      running = undefined;
    },
    close: stopClock,
  };
}
