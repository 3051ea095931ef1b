// The action: read inputs, run, and turn any error into core.setFailed in one place.
import * as core from '@actions/core';
import { DeployFailure, deploy } from '../deploy.js';
import { DeployError } from '../errors.js';
import { GateError } from '../health/gate.js';
import { redactingLog, redactor } from '../report/log.js';
import { summaryMarkdown, targetsJson } from '../report/summary.js';
import { readSettings, secretValues } from '../settings/settings.js';
import { inputsFromEnv } from './inputs.js';

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const raw = inputsFromEnv(env);
  const secrets = secretValues(raw);
  for (const secret of secrets) core.setSecret(secret);
  const redact = redactor(secrets);
  const log = redactingLog({ info: core.info, warn: core.warning, error: core.error }, secrets);
  try {
    const settings = readSettings(raw);
    try {
      const result = await deploy(settings, log);
      core.setOutput('changed', String(result.changed));
      core.setOutput('restarted', result.restarted.join(','));
      core.setOutput('release', result.release);
      core.setOutput('targets', targetsJson(result.targets));
      core.setOutput('grafana-url', result.grafanaUrl);
      await writeSummary(
        redact(summaryMarkdown({ title: `Deployed to ${settings.connection.host}`, ok: true, ...result })),
      );
      log.info(`✓ green: ${result.targets.length} targets up, Grafana at ${result.grafanaUrl}`);
      process.exitCode = 0;
    } catch (e) {
      if (e instanceof DeployFailure) {
        await writeSummary(
          redact(
            summaryMarkdown({
              title: `Deploy to ${settings.connection.host} failed`,
              ok: false,
              steps: e.steps,
              targets: e.error instanceof GateError ? e.error.state.targets : [],
              error: e.message,
            }),
          ),
        );
        throw e.error;
      }
      throw e;
    }
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

async function writeSummary(markdown: string): Promise<void> {
  // Outside a workflow run there is no summary file; the log has it all.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown).write();
}
