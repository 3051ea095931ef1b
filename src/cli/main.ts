// The CLI: the same engine as the action, driven by flags.

import { version } from '../../package.json';
import { consoleLog, redactor } from '../base/log.js';
import { DeployError, InputError } from '../errors.js';
import { SettingsError, secretValues } from '../settings/settings.js';
import { CLI_INPUTS, type CliArgs, EXIT, parseCliArgs } from './args.js';
import { backupCommand, restoreCommand } from './backup.js';
import { checkCommand, deployCommand, rollbackCommand } from './deploy.js';
import { execCommand, fetchCommand, preflightCommand } from './inspect.js';
import { planOrLint } from './plan.js';

type CommandRun = (args: CliArgs, redact: (text: string) => string) => number | Promise<number>;

/** Each command: its line in the usage, and what runs it (it prints its result and returns the exit code). */
const COMMANDS: Record<string, { readonly about: string; readonly run: CommandRun }> = {
  plan: {
    about: 'Render the stack for the given settings, lint it, and list the files a deploy would upload; needs no host.',
    run: planOrLint,
  },
  lint: {
    about: 'Check a stack directory for the known mistakes (file:line, errors and warnings): lint [STACK_DIR]',
    run: planOrLint,
  },
  deploy: {
    about: 'Deploy the stack to the host and wait until it is healthy (the same engine as the action).',
    run: deployCommand,
  },
  rollback: {
    about: 'Put an earlier release back (default: the previous one) and wait until it is healthy: rollback [RELEASE]',
    run: rollbackCommand,
  },
  backup: {
    about:
      "Copy Grafana's data, the secrets the stack made, .env and the live release id into an encrypted archive (backup-key): backup [PATH]",
    run: backupCommand,
  },
  restore: {
    about:
      'Put an archive a backup wrote on the host, then deploy as usual and wait until it is healthy: restore ARCHIVE',
    run: restoreCommand,
  },
  check: {
    about: 'Run only the health gate against an already deployed host; it writes only its canary log lines.',
    run: checkCommand,
  },
  preflight: {
    about: 'Connect (host key verified) and report what the host has; changes nothing.',
    run: preflightCommand,
  },
  exec: {
    about:
      "Run a command on the host over the verified connection: exec [flags] -- COMMAND [ARG...] (each ARG quoted for the host's shell), or exec [flags] -- 'ONE SHELL LINE'",
    run: execCommand,
  },
  fetch: {
    about: "GET a URL inside the host's Docker network through the SSH tunnel: fetch [flags] CONTAINER:PORT/PATH",
    run: fetchCommand,
  },
};

const commandNamed = (name?: string) => (name && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);

/** Which inputs a command reads: plan and lint need no connection. */
function flagsFor(command?: string) {
  if (command === 'plan' || command === 'lint') return CLI_INPUTS.filter((i) => i.group !== 'connection');
  if (command === 'preflight' || command === 'exec' || command === 'fetch')
    return CLI_INPUTS.filter((i) => i.group === 'connection');
  return CLI_INPUTS;
}

export function usage(command?: string): string {
  const known = commandNamed(command) ? command : undefined;
  const flags = flagsFor(known).map((i) => {
    const name = `--${i.name}${i.secret ? `, --${i.name}-file` : ''}`;
    const def = i.default !== undefined ? ` (default: ${i.default || '""'})` : i.required ? ' (required)' : '';
    return `  ${name.padEnd(48)} ${i.description}${def}`;
  });
  const head = known
    ? [`Usage: monitoring-deploy ${known} [flags]`, '', commandNamed(known)?.about ?? '']
    : [
        'Usage: monitoring-deploy <command> [flags]',
        '',
        'Deploys a Prometheus + Loki + Promtail + Grafana stack to a server over SSH.',
        '',
        'Commands (monitoring-deploy <command> --help for one):',
        ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(12)} ${d.about}`),
      ];
  return [
    ...head,
    '',
    'Flags (each also read from MONITORING_DEPLOY_<NAME>, e.g. MONITORING_DEPLOY_SSH_KEY):',
    ...flags,
    `  ${'--json'.padEnd(48)} Machine-readable output.`,
    `  ${'-h, --help'.padEnd(48)} This help.`,
    `  ${'--version'.padEnd(48)} The version of monitoring-deploy.`,
    '',
    'Exit codes: 0 success, 1 the command failed, 2 bad usage or input.',
  ].join('\n');
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(argv, env);
  } catch (e) {
    // A bad flag or an unreadable -file: the message names it; the whole usage would bury it.
    if (e instanceof SettingsError) consoleLog.error(e.message);
    else process.stderr.write(`${(e as Error).message}\n\n${usage()}\n`);
    return EXIT.usage;
  }
  if (args.version) {
    process.stdout.write(`monitoring-deploy ${version}\n`);
    return EXIT.ok;
  }
  if (args.help || !args.command || args.command === 'help') {
    process.stdout.write(`${usage(args.command)}\n`);
    return args.command || args.help ? EXIT.ok : EXIT.usage;
  }
  const command = commandNamed(args.command);
  if (!command) {
    process.stderr.write(`Unknown command "${args.command}".\n\n${usage()}\n`);
    return EXIT.usage;
  }
  const redact = redactor(secretValues(args.raw));
  try {
    return await command.run(args, redact);
  } catch (e) {
    const known = e instanceof DeployError || e instanceof SettingsError;
    consoleLog.error(redact(known ? (e as Error).message : `unexpected: ${(e as Error).stack ?? e}`));
    return e instanceof SettingsError || e instanceof InputError ? EXIT.usage : EXIT.failed;
  }
}
