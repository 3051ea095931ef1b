// Turns CLI flags and MONITORING_DEPLOY_* environment variables into the same raw inputs the
// action reads: one flag per action input, named alike.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { INPUTS } from '../settings/inputs.js';
import { fileErrorReason } from '../settings/parse.js';
import { type RawInputs, SettingsError } from '../settings/settings.js';

/** The action's inputs as flags; `command` is the CLI's subcommand instead. */
export const CLI_INPUTS = INPUTS.filter((i) => i.name !== 'command');

/** The CLI's exit codes: 0 success, 1 the command failed, 2 bad usage or input. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function envVarFor(input: string): string {
  return `MONITORING_DEPLOY_${input.replace(/-/g, '_').toUpperCase()}`;
}

export interface CliArgs {
  readonly command?: string;
  readonly raw: RawInputs;
  readonly json: boolean;
  readonly help: boolean;
  readonly version: boolean;
  readonly rest: readonly string[];
}

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const input of CLI_INPUTS) {
    options[input.name] = { type: 'string' };
    // Secrets from a file keep them out of the process list and shell history.
    if (input.secret) options[`${input.name}-file`] = { type: 'string' };
  }
  const { values, positionals } = parseFlags(argv, options);
  const raw: Record<string, string> = {};
  const problems: string[] = [];
  for (const input of CLI_INPUTS) {
    const fromFlag = values[input.name];
    const fromFile = values[`${input.name}-file`];
    const fromEnv = env[envVarFor(input.name)];
    if (typeof fromFlag === 'string') raw[input.name] = fromFlag;
    else if (typeof fromFile === 'string') {
      try {
        raw[input.name] = readFileSync(fromFile, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        problems.push(`${input.name}-file: cannot read ${fromFile} (${fileErrorReason(e)})`);
      }
    } else if (fromEnv) raw[input.name] = fromEnv;
  }
  if (problems.length) throw new SettingsError(problems);
  const [command, ...rest] = positionals;
  if (command === 'deploy' || command === 'check' || command === 'backup' || command === 'restore')
    raw.command = command;
  // backup [PATH], restore ARCHIVE: the one argument is the input of that name, unless given as a flag.
  const positional = { backup: 'backup-path', restore: 'restore-from' }[command as 'backup' | 'restore'];
  if (positional && rest[0] !== undefined && raw[positional] === undefined) raw[positional] = rest[0];
  return {
    command,
    raw,
    json: values.json === true,
    help: values.help === true,
    version: values.version === true,
    rest,
  };
}

function parseFlags(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new SettingsError([flagProblem(e as Error & { code?: string })]);
  }
}

/** Node's parseArgs errors, said in terms of our flags. */
function flagProblem(e: Error & { code?: string }): string {
  const flag = /'(?:-\w, )?--([\w-]+)/.exec(e.message)?.[1];
  const input = flag ? INPUTS.find((i) => i.name === flag) : undefined;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    if (/ambiguous/.test(e.message)) {
      // A pasted key (-----BEGIN …) or a negative number: parseArgs takes it for another flag.
      const file = input?.secret ? `use --${flag}-file PATH, or ` : '';
      return `${flag}: the value starts with "-", so it reads as another flag; ${file}write --${flag}=VALUE`;
    }
    if (/argument missing/.test(e.message)) return `${flag}: --${flag} needs a value`;
  }
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const unknown = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    return `unknown flag ${unknown} (monitoring-deploy --help lists the flags)`;
  }
  return e.message;
}
