// Where the CLI's progress goes: stderr, so that results on stdout can be piped. Secrets are
// redacted from every line.
import { commandSafeLog, type Log, redactingLog } from '../base/log.js';
import { liveTerminalLog } from '../report/terminal.js';
import { secretValues } from '../settings/settings.js';
import type { CliArgs } from './args.js';

/** Plain lines; in a workflow step the runner reads them, so none may pass for a workflow command. */
export const STDERR: Log = commandSafeLog({
  info: (l) => process.stderr.write(`${l}\n`),
  warn: (l) => process.stderr.write(`warning: ${l}\n`),
  error: (l) => process.stderr.write(`error: ${l}\n`),
});

/** Progress on stderr, secrets redacted: live step lines on a terminal, plain lines otherwise. */
export function stderrLog(args: CliArgs): Log {
  const tty = process.stderr.isTTY && !args.json && !process.env.CI;
  const color = tty && process.stderr.hasColors?.() === true && !process.env.NO_COLOR;
  return redactingLog(tty ? liveTerminalLog(process.stderr, { color }) : STDERR, secretValues(args.raw));
}

/**
 * For the commands that look at a host (preflight, exec, fetch): as stderrLog, but with --json
 * only warnings and errors, so that stderr stays empty when all is well.
 */
export function lookLog(args: CliArgs): Log {
  return args.json ? redactingLog({ ...STDERR, info: () => undefined }, secretValues(args.raw)) : stderrLog(args);
}
