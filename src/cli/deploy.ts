// `deploy` and `check` on the command line: step lines live on stderr, the result on stdout.

import { redactedJson, redactingLog, withoutWorkflowCommands } from '../base/log.js';
import { checkFailure, checkOutcome, runCheck } from '../engine/check.js';
import { DeployFailure, deploy } from '../engine/deploy.js';
import { deployFleet } from '../engine/fleet.js';
import { rollbackHost } from '../engine/rollback.js';
import { headline } from '../errors.js';
import { GateError } from '../health/gate.js';
import { notify } from '../notify/notify.js';
import { dataPathRows } from '../report/gate.js';
import { budgetText, dataPathTable, hostRows, targetRows, targetsTable } from '../report/summary.js';
import { readSettings, type Settings, secretValues } from '../settings/settings.js';
import type { CliArgs } from './args.js';
import { STDERR, stderrLog } from './log.js';

export async function deployCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const settings = readSettings(args.raw);
  if (settings.hosts.length) return fleetCommand(args, settings, redact);
  const log = stderrLog(args);
  try {
    const r = await deploy(settings, log);
    if (args.json) {
      process.stdout.write(`${redactedJson({ ok: true, ...r, targets: targetRows(r.targets) }, redact)}\n`);
    } else {
      process.stdout.write(
        tableText(
          `${targetsTable(r.targets)}\n\n${dataPathTable(dataPathRows(r.gate))}\n\n${r.budget ? `${budgetText(r.budget)}\n\n` : ''}release ${r.release} · changed=${r.changed} · Grafana ${r.grafanaUrl}\n`,
          redact,
        ),
      );
    }
    return 0;
  } catch (e) {
    if (!(e instanceof DeployFailure)) throw e;
    if (args.json) {
      const targets = e.error instanceof GateError ? e.error.state.targets : [];
      process.stdout.write(`${redactedJson({ ok: false, error: e.message, steps: e.steps, targets }, redact)}\n`);
    }
    throw e.error;
  }
}

/** Several hosts: plain prefixed lines (steps of parallel hosts interleave), a row per host. */
async function fleetCommand(args: CliArgs, settings: Settings, redact: (s: string) => string): Promise<number> {
  const outcomes = await deployFleet(settings, redactingLog(STDERR, secretValues(args.raw)));
  if (args.json) {
    process.stdout.write(`${redactedJson({ ok: outcomes.every((o) => o.ok), hosts: hostRows(outcomes) }, redact)}\n`);
  } else {
    const rows = outcomes.map((o) => [
      o.name,
      o.role,
      o.ok ? 'green' : 'FAILED',
      redact(o.error ? headline(o.error) : (o.arrival?.detail ?? '')),
    ]);
    for (const r of [['HOST', 'ROLE', 'RESULT', 'DETAIL'], ...rows])
      process.stdout.write(tableText(`${r[0]?.padEnd(16)} ${r[1]?.padEnd(11)} ${r[2]?.padEnd(7)} ${r[3]}\n`, redact));
  }
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) {
    for (const o of failed) STDERR.error(`[${o.name}] ${redact(o.error?.message ?? 'failed')}`);
    return 1;
  }
  return 0;
}

/** The watchdog from a terminal or cron: the same check and notify as the action. */
export async function checkCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const settings = readSettings(args.raw);
  const log = stderrLog(args);
  const report = await runCheck(settings, log);
  await notify(settings, checkOutcome(report), log, { stateDir: process.env.MONITORING_DEPLOY_STATE_DIR });
  if (args.json) {
    const { ok, problems, targets, checks, roundTrips } = report;
    process.stdout.write(`${redactedJson({ ok, problems, targets, checks, roundTrips }, redact)}\n`);
  } else if (report.targets.length || report.checks.length) {
    process.stdout.write(
      tableText(`${targetsTable(report.targets)}\n\n${dataPathTable(dataPathRows(report))}\n`, redact),
    );
  }
  if (!report.ok) throw checkFailure(settings.hostName, report);
  return 0;
}

export async function rollbackCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const settings = readSettings(args.raw);
  const r = await rollbackHost(settings, stderrLog(args), args.rest[0]);
  process.stdout.write(
    args.json
      ? `${redactedJson({ ok: true, release: r.release, targets: r.gate.targets }, redact)}\n`
      : tableText(`${targetsTable(r.gate.targets)}\n\nrelease ${r.release}\n`, redact),
  );
  return 0;
}

/** A table for people: it quotes the host (targets' last errors, details), so it is redacted and command-safe. */
function tableText(text: string, redact: (s: string) => string): string {
  return withoutWorkflowCommands(redact(text));
}
