// `preflight`, `exec` and `fetch` on the command line: a look at a host through the engine,
// progress on stderr, the answer on stdout.

import { consoleLog, redactedJson } from '../base/log.js';
import { execCommandLine } from '../connection/shell.js';
import { type FetchTarget, runExec, runFetch, runPreflight } from '../engine/inspect.js';
import { readSettings, SettingsError } from '../settings/settings.js';
import { type CliArgs, EXIT } from './args.js';
import { lookLog } from './log.js';

/** The host's facts, one per line (or JSON); fails when a deploy would stop at its preflight. */
export async function preflightCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const report = await runPreflight(readSettings(args.raw), lookLog(args));
  if (args.json) {
    process.stdout.write(`${redactedJson(report, redact, 2)}\n`);
  } else {
    for (const [k, v] of Object.entries(report.facts)) consoleLog.info(`${k.padEnd(20)} ${redactedJson(v, redact)}`);
    for (const p of report.problems) consoleLog.error(redact(p));
  }
  return report.problems.length ? EXIT.failed : EXIT.ok;
}

/** The command's own output and exit code. */
export async function execCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  if (!args.rest.length) throw new SettingsError(['exec: give the command after --']);
  const r = await runExec(readSettings(args.raw), lookLog(args), execCommandLine(args.rest));
  process.stdout.write(redact(r.stdout));
  process.stderr.write(redact(r.stderr));
  return r.code ?? EXIT.failed;
}

/** `CONTAINER:PORT/PATH`, the path `/` when none is given. */
export function fetchTarget(arg = ''): FetchTarget {
  const m = /^([^:/]+):(\d+)(\/.*)?$/.exec(arg);
  if (!m?.[1] || !m[2]) throw new SettingsError(['fetch: give CONTAINER:PORT/PATH, e.g. prometheus:9090/-/ready']);
  return { container: m[1], port: Number(m[2]), path: m[3] ?? '/' };
}

/** The answer's status line and body (or JSON); fails on an HTTP error status. */
export async function fetchCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const target = fetchTarget(args.rest[0]);
  const res = await runFetch(readSettings(args.raw), lookLog(args), target);
  if (args.json) process.stdout.write(`${redactedJson(res, redact)}\n`);
  else process.stdout.write(redact(`${`HTTP ${res.status} ${res.headers['content-type'] ?? ''}`.trim()}\n${res.body}`));
  return res.status < 400 ? EXIT.ok : EXIT.failed;
}
