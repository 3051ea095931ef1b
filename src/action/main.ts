// The action: read inputs, run, and turn any error into core.setFailed in one place.
import * as core from '@actions/core';
import { deploy } from '../deploy.js';
import { DeployError } from '../errors.js';
import { redactor } from '../report/log.js';
import { INPUTS } from '../settings/inputs.js';
import { readSettings } from '../settings/settings.js';
import { inputsFromEnv } from './inputs.js';

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const raw = inputsFromEnv(env);
  const secrets: string[] = [];
  for (const input of INPUTS.filter((i) => i.secret)) {
    const v = raw[input.name];
    if (v) secrets.push(v, ...v.split(/\r?\n/).filter((l) => l.trim().length >= 4));
  }
  for (const s of secrets) core.setSecret(s);
  const redact = redactor(secrets);
  try {
    const settings = readSettings(raw);
    await deploy(settings, {
      info: (l) => core.info(redact(l)),
      warn: (l) => core.warning(redact(l)),
      error: (l) => core.error(redact(l)),
    });
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
