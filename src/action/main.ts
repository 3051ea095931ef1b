// The action: read inputs, run a deploy or a check, notify if asked, and turn any error into
// core.setFailed in one place.

import { tmpdir } from 'node:os';
import * as core from '@actions/core';
import { type Log, redactedJson, redactingLog, redactor, withoutWorkflowCommands } from '../base/log.js';
import { backupHost, restoreHost } from '../engine/backup.js';
import { checkFailure, checkOutcome, failureProblems, runCheck } from '../engine/check.js';
import { DeployFailure, deploy } from '../engine/deploy.js';
import { deployFleet } from '../engine/fleet.js';
import { DeployError, headline } from '../errors.js';
import { GateError } from '../health/gate.js';
import { notify, type Outcome, runUrlFrom } from '../notify/notify.js';
import { dataPathRows } from '../report/gate.js';
import { fleetMarkdown, hostRows, summaryMarkdown, targetRows } from '../report/summary.js';
import { readSettings, type Settings, secretValues } from '../settings/settings.js';
import { inputsFromEnv } from './inputs.js';

/** A run's result for notify, and the error the job fails with (if any). */
type Finished = Outcome & { readonly failure?: Error };

/** Where a run's results go: the job summary and the step's outputs, both redacted. */
interface Report {
  summary(markdown: string): Promise<void>;
  /** A string as it is, anything else as JSON; every string in it redacted first. */
  output(name: string, value: unknown): void;
}

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const raw = inputsFromEnv(env);
  const secrets = secretValues(raw);
  for (const secret of secrets) core.setSecret(secret);
  const redact = redactor(secrets);
  const log = actionLog(secrets);
  try {
    const settings = readSettings(raw);
    const report: Report = {
      summary: (markdown) => writeSummary(redact(markdown)),
      output: (name, value) =>
        core.setOutput(name, typeof value === 'string' ? redact(value) : redactedJson(value, redact)),
    };
    const finished =
      settings.command === 'check'
        ? await checkRun(settings, log, report)
        : settings.command === 'backup'
          ? await backupRun(settings, log, report, env)
          : settings.hosts.length
            ? await fleetRun(settings, log, report)
            : await deployRun(settings, log, report);
    report.output('problems', finished.problems);
    const notified = await notify(settings, finished, log, {
      stateDir: env.MONITORING_DEPLOY_STATE_DIR,
      runUrl: runUrlFrom(env),
    });
    report.output('state-changed', String(notified.stateChanged));
    if (finished.failure) throw finished.failure;
    process.exitCode = 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    core.setFailed(
      redact(
        e instanceof DeployError || (e as Error)?.name === 'SettingsError'
          ? message
          : `Unexpected error (a bug in monitoring-deploy, please report it): ${(e as Error)?.stack ?? message}`,
      ),
    );
  }
}

/**
 * The job log, every line redacted. core.info writes its text as it is, and text from the host
 * goes into waiting lines and errors: its lines are made unable to pass for a workflow command,
 * after redaction (a backslash put into a secret would hide it from the redactor).
 * core.warning and core.error need nothing: each is one command line, its line breaks escaped.
 */
export function actionLog(secrets: readonly string[]): Log {
  return redactingLog(
    { info: (line) => core.info(withoutWorkflowCommands(line)), warn: core.warning, error: core.error },
    secrets,
  );
}

/** A backup: the archive written under $RUNNER_TEMP unless backup-path says where. */
async function backupRun(
  settings: Settings,
  log: Log,
  { summary, output }: Report,
  env: NodeJS.ProcessEnv,
): Promise<Finished> {
  const result = await backupHost(settings, log, { defaultDir: env.RUNNER_TEMP || tmpdir() });
  output('backup-path', result.path);
  output('backup-bytes', String(result.bytes));
  await summary(
    `${summaryMarkdown({ title: `Backup of ${settings.hostName}`, ok: true, steps: result.steps, targets: [] })}\n${result.sentence}\n`,
  );
  log.info(`✓ ${result.sentence}`);
  return { ok: true, problems: [], what: 'deploy', healthyDetail: result.sentence };
}

async function deployRun(settings: Settings, log: Log, { summary, output }: Report): Promise<Finished> {
  const restoring = settings.command === 'restore';
  const title = `${restoring ? 'Restore and deploy' : 'Deploy'} to ${settings.hostName}`;
  try {
    const result = restoring ? await restoreHost(settings, log) : await deploy(settings, log);
    output('changed', String(result.changed));
    output('restarted', result.restarted.join(','));
    output('release', result.release);
    output('targets', targetRows(result.targets));
    output('grafana-url', result.grafanaUrl);
    await summary(
      summaryMarkdown({
        title: `${restoring ? 'Restored and deployed' : 'Deployed'} to ${settings.hostName}`,
        ok: true,
        ...result,
        dataPath: dataPathRows(result.gate),
      }),
    );
    log.info(`✓ green: ${result.targets.length} targets up, Grafana at ${result.grafanaUrl}`);
    return { ok: true, problems: [], what: 'deploy', healthyDetail: `${result.targets.length} targets up` };
  } catch (e) {
    if (!(e instanceof DeployFailure)) throw e;
    const state = e.error instanceof GateError ? e.error.state : undefined;
    const targets = state?.targets ?? [];
    if (targets.length) output('targets', targetRows(targets));
    await summary(
      summaryMarkdown({
        title: `${title} failed`,
        ok: false,
        steps: e.steps,
        targets,
        error: e.message,
        warnings: e.warnings,
        dataPath: state ? dataPathRows(state) : [],
      }),
    );
    return { ok: false, problems: failureProblems(e.error), what: 'deploy', failure: e.error };
  }
}

async function fleetRun(settings: Settings, log: Log, { summary, output }: Report): Promise<Finished> {
  const outcomes = await deployFleet(settings, log);
  const failed = outcomes.filter((o) => !o.ok);
  output('hosts', hostRows(outcomes));
  output('changed', String(outcomes.some((o) => o.result?.changed)));
  const central = outcomes.find((o) => o.role === 'monitoring')?.result;
  if (central) {
    output('release', central.release);
    output('targets', targetRows(central.targets));
    output('grafana-url', central.grafanaUrl);
  }
  await summary(fleetMarkdown(`Deploy to ${outcomes.length} hosts`, outcomes));
  for (const o of outcomes) log.info(`${o.ok ? '✓' : '✗'} ${o.name} (${o.role}): ${o.ok ? 'green' : 'failed'}`);
  return {
    ok: failed.length === 0,
    problems: failed.map((o) => `${o.name}: ${o.error ? headline(o.error) : 'failed'}`),
    what: 'deploy',
    healthyDetail: `${outcomes.length} hosts green`,
    failure: failed.length
      ? new DeployError(
          `${failed.length} of ${outcomes.length} hosts failed (the others are green):\n${failed
            .map((o) => `\n[${o.name}] ${o.error?.message ?? 'failed'}`)
            .join('\n')}`,
        )
      : undefined,
  };
}

async function checkRun(settings: Settings, log: Log, { summary, output }: Report): Promise<Finished> {
  const report = await runCheck(settings, log);
  output('targets', targetRows(report.targets));
  const failure = report.ok ? undefined : checkFailure(settings.hostName, report);
  await summary(
    summaryMarkdown({
      title: `Check of ${settings.hostName} ${report.ok ? 'passed' : 'failed'}`,
      ok: report.ok,
      steps: report.steps,
      targets: report.targets,
      error: failure?.message,
      warnings: report.warnings,
      dataPath: dataPathRows(report),
    }),
  );
  if (report.ok) log.info(`✓ healthy: ${report.targets.length} targets up`);
  return {
    ...checkOutcome(report),
    failure,
  };
}

async function writeSummary(markdown: string): Promise<void> {
  // Outside a workflow run there is no summary file; the log has it all.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown).write();
}
