// `deploy` and `check` on the command line: step lines live on stderr, the result on stdout.
import { RemoteHost } from '../connection/ssh.js';
import { DeployFailure, deploy, gateOptionsFor, rollBack } from '../deploy.js';
import { DeployError } from '../errors.js';
import { GateError, healthGate } from '../health/gate.js';
import { acquireLock } from '../host/lock.js';
import { type HostFacts, preflight } from '../host/preflight.js';
import { type Log, redactingLog } from '../report/log.js';
import { targetsJson, targetsTable } from '../report/summary.js';
import { readSettings, type Settings, secretValues } from '../settings/settings.js';
import { remoteLayout } from '../stack/layout.js';
import { previousRelease } from '../stack/releases.js';
import type { CliArgs } from './args.js';

const STDERR: Log = {
  info: (l) => process.stderr.write(`${l}\n`),
  warn: (l) => process.stderr.write(`warning: ${l}\n`),
  error: (l) => process.stderr.write(`error: ${l}\n`),
};

/** Step lines on stderr, secrets redacted. */
function stderrLog(args: CliArgs): Log {
  return redactingLog(STDERR, secretValues(args.raw));
}

export async function deployCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const settings = readSettings(args.raw);
  const log = stderrLog(args);
  try {
    const r = await deploy(settings, log);
    if (args.json) {
      process.stdout.write(
        `${redact(JSON.stringify({ ok: true, ...r, targets: JSON.parse(targetsJson(r.targets)) }))}\n`,
      );
    } else {
      process.stdout.write(
        `${targetsTable(r.targets)}\n\nrelease ${r.release} · changed=${r.changed} · Grafana ${r.grafanaUrl}\n`,
      );
    }
    return 0;
  } catch (e) {
    if (!(e instanceof DeployFailure)) throw e;
    if (args.json) {
      const targets = e.error instanceof GateError ? e.error.state.targets : [];
      process.stdout.write(`${redact(JSON.stringify({ ok: false, error: e.message, steps: e.steps, targets }))}\n`);
    }
    throw e.error;
  }
}

/** Connects, runs the read-only preflight, and hands both to the command; always disconnects. */
async function onHost(
  args: CliArgs,
  command: (host: { settings: Settings; log: Log; remote: RemoteHost; facts: HostFacts }) => Promise<number>,
): Promise<number> {
  const settings = readSettings(args.raw);
  const remote = await RemoteHost.connect(settings.connection);
  try {
    return await command({ settings, log: stderrLog(args), remote, facts: await preflight(remote) });
  } finally {
    remote.close();
  }
}

export function checkCommand(args: CliArgs): Promise<number> {
  return onHost(args, async ({ settings, log, remote, facts }) => {
    // A healthy target was scraped within the last minute (the default interval is 15s).
    const gate = await healthGate(remote, facts, gateOptionsFor(settings, log)(facts.hostNowSec - 60));
    process.stdout.write(
      args.json
        ? `${JSON.stringify({ ok: true, targets: gate.targets, checks: gate.checks })}\n`
        : `${targetsTable(gate.targets)}\n`,
    );
    return 0;
  });
}

export function rollbackCommand(args: CliArgs): Promise<number> {
  return onHost(args, async ({ settings, log, remote, facts }) => {
    const layout = remoteLayout(settings.stack.remoteDir, facts.home);
    const release = args.rest[0] ?? (await previousRelease(remote, layout));
    if (!release) {
      throw new DeployError(
        'The host records no previous release to roll back to.',
        'name a release: monitoring-deploy rollback RELEASE.',
      );
    }
    const lock = await acquireLock(remote, layout.lockFile, settings.lockTimeoutMs, log);
    try {
      log.info(`rolling back to release ${release}`);
      const r = await rollBack(remote, facts, layout, release, settings, gateOptionsFor(settings, log));
      log.info(r.detail ?? '');
      process.stdout.write(
        args.json
          ? `${JSON.stringify({ ok: true, release, targets: r.gate.targets })}\n`
          : `${targetsTable(r.gate.targets)}\n\nrelease ${release}\n`,
      );
      return 0;
    } finally {
      await lock.release();
    }
  });
}
