// Turns CLI flags and MONITORING_DEPLOY_* environment variables into the same raw inputs the
// action reads: one flag per action input, named alike.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { INPUTS } from '../settings/inputs.js';
import type { RawInputs } from '../settings/settings.js';

/** The action's inputs as flags; `command` is the CLI's subcommand instead. */
export const CLI_INPUTS = INPUTS.filter((i) => i.name !== 'command');

export function envVarFor(input: string): string {
  return `MONITORING_DEPLOY_${input.replace(/-/g, '_').toUpperCase()}`;
}

export interface CliArgs {
  readonly command?: string;
  readonly raw: RawInputs;
  readonly json: boolean;
  readonly help: boolean;
  readonly rest: readonly string[];
}

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const input of CLI_INPUTS) {
    options[input.name] = { type: 'string' };
    // Secrets from a file keep them out of the process list and shell history.
    if (input.secret) options[`${input.name}-file`] = { type: 'string' };
  }
  const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  const raw: Record<string, string> = {};
  for (const input of CLI_INPUTS) {
    const fromFlag = values[input.name];
    const fromFile = values[`${input.name}-file`];
    const fromEnv = env[envVarFor(input.name)];
    if (typeof fromFlag === 'string') raw[input.name] = fromFlag;
    else if (typeof fromFile === 'string') raw[input.name] = readFileSync(fromFile, 'utf8').replace(/\r?\n$/, '');
    else if (fromEnv) raw[input.name] = fromEnv;
  }
  const [command, ...rest] = positionals;
  if (command === 'deploy' || command === 'check') raw.command = command;
  return { command, raw, json: values.json === true, help: values.help === true, rest };
}
