// Putting an earlier release back: after a failed gate (from the deploy) or by hand
// (`monitoring-deploy rollback [RELEASE]`). Either way the restored release must pass the gate.

import type { Log, StepRecord, StepResult } from '../base/log.js';
import { DeployError } from '../errors.js';
import { type GateOptions, type GateResult, gateOptions, healthGate } from '../health/gate.js';
import { freshnessAfter } from '../health/targets.js';
import { applyGrafanaAdminPassword } from '../host/grafana-admin.js';
import { type RemoteLayout, remoteLayout, SECRET_FILES } from '../model/layout.js';
import type { Settings } from '../settings/settings.js';
import { upStacks } from '../stack/compose.js';
import { assertNamedRelease, assertReleaseId, previousRelease, restoreRelease } from '../stack/releases.js';
import { type OnHost, onConnection, preflightStep, withLock } from './session.js';

/**
 * A short health-timeout suits a deploy that should fail fast, not the release put back after
 * it: a restarted Prometheus scrapes each target only once its first interval comes round (up
 * to a 15s interval after it is ready), and a rollback cut short leaves the host unproven.
 */
const ROLLBACK_GATE_MIN_MS = 60_000;
const rollbackGateTimeoutMs = (healthTimeoutMs: number) => Math.max(healthTimeoutMs, ROLLBACK_GATE_MIN_MS);

/**
 * Puts a release's files back, restarts what they change, and gates on its health. `push`
 * false: the release may have other push credentials than this run knows, so the gate checks
 * the host alone (no push probes, no arrival at the query URLs).
 */
export async function rollBack(
  h: OnHost,
  layout: RemoteLayout,
  release: string,
  push: boolean,
): Promise<StepResult<GateResult>> {
  const restored = await restoreRelease(h.remote, layout, release, h.settings.stack.stacks);
  const up = await upStacks(h.remote, h.facts, {
    root: layout.root,
    rendered: restored.stack,
    changedPaths: restored.changedPaths,
    pull: 'never',
    release,
  });
  // Grafana keeps a password in its database: the restored release's must be applied to it.
  const password = restored.changedPaths.includes(SECRET_FILES.grafanaAdminPassword);
  if (password && h.settings.stack.stacks.includes('monitoring')) await applyGrafanaAdminPassword(h.remote, h.facts);
  const options: GateOptions = {
    ...gateOptions(h.settings, h.log, freshnessAfter(up.hostNowSec ?? restored.hostNowSec, up.restarted)),
    timeoutMs: rollbackGateTimeoutMs(h.settings.healthTimeoutMs),
  };
  const gate = await healthGate(
    h.remote,
    h.facts,
    push ? options : { ...options, push: undefined, arrival: undefined },
  );
  return {
    changed: true,
    value: gate,
    detail: `restored ${restored.changedPaths.length} file(s), (re)started ${up.restarted.join(', ') || 'nothing'}; ${gate.targets.length} targets up`,
  };
}

export interface RollbackResult {
  readonly release: string;
  readonly gate: GateResult;
  readonly steps: readonly StepRecord[];
}

/** `monitoring-deploy rollback [RELEASE]`: the named release, or the one before the current. */
export async function rollbackHost(settings: Settings, log: Log, named?: string): Promise<RollbackResult> {
  if (named !== undefined) assertNamedRelease(named);
  return onConnection(settings, log, async (run, remote) => {
    const facts = await preflightStep(run, remote);
    const h: OnHost = { ...run, remote, facts };
    const layout = remoteLayout(settings.stack.remoteDir, facts.home);
    const release = named ?? (await previousRelease(remote, layout));
    if (!release) {
      throw new DeployError(
        'The host records no previous release to roll back to.',
        'name a release: monitoring-deploy rollback RELEASE.',
      );
    }
    assertReleaseId(release);
    log.info(`rolling back to release ${release}`);
    const gate = await withLock(h, layout.lockName, '', () =>
      run.steps.run(`Rollback to ${release}`, () => rollBack(h, layout, release, true)),
    );
    return { release, gate, steps: run.steps.records };
  });
}
