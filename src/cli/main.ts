// The CLI: the same engine as the action, driven by flags.

import { version } from '../../package.json';
import { formatDuration } from '../base/format.js';
import { consoleLog, redactedJson, redactor } from '../base/log.js';
import { hostKeyDetail, unverifiedHostKeyWarning } from '../connection/host-key.js';
import { httpViaHost } from '../connection/http.js';
import { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { containerAddress } from '../host/docker.js';
import { preflight, preflightProblems } from '../host/preflight.js';
import { readSettings, SettingsError, secretValues } from '../settings/settings.js';
import { CLI_INPUTS, parseCliArgs } from './args.js';
import { checkCommand, deployCommand, rollbackCommand } from './deploy.js';
import { planOrLint } from './plan.js';

// Progress goes to stderr, results to stdout, so that output can be piped.
const progress = (line: string) => process.stderr.write(`${line}\n`);

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const COMMANDS: Record<string, string> = {
  plan: 'Render the stack for the given settings, lint it, and list the files a deploy would upload; needs no host.',
  lint: 'Check a stack directory for the known mistakes (file:line, errors and warnings): lint [STACK_DIR]',
  deploy: 'Deploy the stack to the host and wait until it is healthy (the same engine as the action).',
  rollback: 'Put an earlier release back (default: the previous one) and wait until it is healthy: rollback [RELEASE]',
  check: 'Run only the health gate against an already deployed host; it writes only its canary log lines.',
  preflight: 'Connect (host key verified) and report what the host has; changes nothing.',
  exec: 'Run a command on the host over the verified connection: exec [flags] -- COMMAND...',
  fetch: "GET a URL inside the host's Docker network through the SSH tunnel: fetch [flags] CONTAINER:PORT/PATH",
};

/** Which inputs a command reads: plan and lint need no connection. */
function flagsFor(command?: string) {
  if (command === 'plan' || command === 'lint') return CLI_INPUTS.filter((i) => i.group !== 'connection');
  if (command === 'preflight' || command === 'exec' || command === 'fetch')
    return CLI_INPUTS.filter((i) => i.group === 'connection');
  return CLI_INPUTS;
}

export function usage(command?: string): string {
  const known = command && command in COMMANDS ? command : undefined;
  const flags = flagsFor(known).map((i) => {
    const name = `--${i.name}${i.secret ? `, --${i.name}-file` : ''}`;
    const def = i.default !== undefined ? ` (default: ${i.default || '""'})` : i.required ? ' (required)' : '';
    return `  ${name.padEnd(48)} ${i.description}${def}`;
  });
  const head = known
    ? [`Usage: monitoring-deploy ${known} [flags]`, '', COMMANDS[known] ?? '']
    : [
        'Usage: monitoring-deploy <command> [flags]',
        '',
        'Deploys a Prometheus + Loki + Promtail + Grafana stack to a server over SSH.',
        '',
        'Commands (monitoring-deploy <command> --help for one):',
        ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(12)} ${d}`),
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
  if (!(args.command in COMMANDS)) {
    process.stderr.write(`Unknown command "${args.command}".\n\n${usage()}\n`);
    return EXIT.usage;
  }
  const redact = redactor(secretValues(args.raw));
  try {
    if (args.command === 'plan' || args.command === 'lint') return planOrLint(args, redact);
    if (args.command === 'deploy') return await deployCommand(args, redact);
    if (args.command === 'check') return await checkCommand(args, redact);
    if (args.command === 'rollback') return await rollbackCommand(args, redact);
    const settings = readSettings(args.raw);
    const started = Date.now();
    const remote = await RemoteHost.connect(settings.connection);
    try {
      if (!args.json)
        progress(
          `connected to ${settings.connection.host}:${settings.connection.port} in ${formatDuration(Date.now() - started)}; ${hostKeyDetail(remote.hostKey)}`,
        );
      const unverified = unverifiedHostKeyWarning(settings.connection.host, settings.connection.port, remote.hostKey);
      if (unverified) consoleLog.warn(redact(unverified));
      switch (args.command) {
        case 'preflight': {
          const facts = await preflight(remote);
          const problems = preflightProblems(facts, settings.connection.username);
          if (args.json) {
            process.stdout.write(`${redactedJson({ hostKey: remote.hostKey, facts, problems }, redact, 2)}\n`);
          } else {
            for (const [k, v] of Object.entries(facts)) consoleLog.info(`${k.padEnd(20)} ${redactedJson(v, redact)}`);
            for (const p of problems) consoleLog.error(redact(p));
          }
          return problems.length ? EXIT.failed : EXIT.ok;
        }
        case 'exec': {
          if (!args.rest.length) throw new SettingsError(['exec: give the command after --']);
          const r = await remote.exec(args.rest.join(' '), { timeoutMs: 600_000 });
          process.stdout.write(redact(r.stdout));
          process.stderr.write(redact(r.stderr));
          return r.code ?? EXIT.failed;
        }
        case 'fetch': {
          const m = /^([^:/]+):(\d+)(\/.*)?$/.exec(args.rest[0] ?? '');
          if (!m?.[1] || !m[2])
            throw new SettingsError(['fetch: give CONTAINER:PORT/PATH, e.g. prometheus:9090/-/ready']);
          const facts = await preflight(remote);
          const address = await containerAddress(remote, facts, m[1]);
          const res = await httpViaHost(remote, address, Number(m[2]), { path: m[3] ?? '/' });
          if (args.json) process.stdout.write(`${redactedJson(res, redact)}\n`);
          else {
            process.stdout.write(
              redact(`${`HTTP ${res.status} ${res.headers['content-type'] ?? ''}`.trim()}\n${res.body}`),
            );
          }
          return res.status < 400 ? EXIT.ok : EXIT.failed;
        }
      }
      return EXIT.usage;
    } finally {
      remote.close();
    }
  } catch (e) {
    const known = e instanceof DeployError || e instanceof SettingsError;
    consoleLog.error(redact(known ? (e as Error).message : `unexpected: ${(e as Error).stack ?? e}`));
    return e instanceof SettingsError ? EXIT.usage : EXIT.failed;
  }
}
