// Reads the action's inputs from INPUT_* environment variables, which action.yml sets from
// `inputs.*` (never by interpolating into the script: that would allow script injection).
import { INPUTS } from '../settings/inputs.js';
import type { RawInputs } from '../settings/settings.js';

export function envName(input: string): string {
  return `INPUT_${input.replace(/[- ]/g, '_').toUpperCase()}`;
}

export function inputsFromEnv(env: NodeJS.ProcessEnv): RawInputs {
  const raw: Record<string, string> = {};
  for (const input of INPUTS) {
    // The runner itself names them with hyphens (INPUT_SSH-KEY); action.yml uses underscores.
    const value = env[envName(input.name)] ?? env[`INPUT_${input.name.toUpperCase()}`];
    if (value !== undefined && value !== '') raw[input.name] = value;
  }
  return raw;
}
