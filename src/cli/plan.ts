// `plan` and `lint`: the stack as a deploy would upload it, checked, without a host.

import { redactedJson } from '../base/log.js';
import { budgetInputs } from '../engine/budget.js';
import { probesFor, titles } from '../health/probes.js';
import type { BudgetReport } from '../host/disk-budget.js';
import { budgetItems, budgetReport, diskBudget, formatBytes } from '../host/disk-budget.js';
import { formatFinding } from '../lint/lint.js';
import { PLAN_DISK_BYTES } from '../model/budget.js';
import { budgetText } from '../report/summary.js';
import { readSettings, type Settings } from '../settings/settings.js';
import { planStack } from '../stack/plan.js';
import type { RenderedStack } from '../stack/render.js';
import type { CliArgs } from './args.js';

/** The budget's items for a host with nothing of the stack on it yet, and no swap. */
function planBudget(settings: Settings, rendered: RenderedStack): BudgetReport {
  const usage = { filesystems: [], volumes: {}, images: {}, dirs: {} };
  return budgetReport(diskBudget(budgetItems(budgetInputs(settings, rendered, usage, undefined, 0)), usage));
}

/** Findings may quote a stack file's lines, and so a secret: everything printed is redacted. */
export function planOrLint(args: CliArgs, redact: (text: string) => string): number {
  const stackDir = args.command === 'lint' && args.rest[0] ? args.rest[0] : args.raw['stack-dir'];
  const settings = readSettings({ ...args.raw, 'stack-dir': stackDir }, { needsConnection: false });
  const lintOnly = args.command === 'lint';
  const plan = planStack(settings, undefined, { lintOnly });
  // Without a login user, the remote dir stays as given: the host resolves ~ for its own user.
  const remoteDir = settings.connection.username
    ? plan.layout.root
    : `${settings.stack.remoteDir} (resolved on the host for the login user)`;
  const errors = plan.findings.filter((f) => f.severity === 'error').length;
  const warnings = plan.findings.length - errors;
  if (args.json) {
    const files = plan.rendered.files.map((f) => ({ path: f.path, bytes: f.content.length, mode: f.mode.toString(8) }));
    const composeFiles = plan.rendered.composeFiles;
    const budget = lintOnly ? undefined : planBudget(settings, plan.rendered).rows;
    process.stdout.write(
      `${redactedJson({ findings: plan.findings, ...(lintOnly ? {} : { remoteDir, files, composeFiles, budget }) }, redact, 2)}\n`,
    );
    return errors ? 1 : 0;
  }
  const out = (l: string) => process.stdout.write(`${redact(l)}\n`);
  for (const f of plan.findings) out(formatFinding(f));
  if (!lintOnly) {
    out(`\nFiles for ${remoteDir} (${settings.stack.stackDir ?? 'bundled stack'}):`);
    for (const f of plan.rendered.files)
      out(`  ${f.mode.toString(8)} ${String(f.content.length).padStart(7)}  ${f.path}`);
    out('\nA deploy would then:');
    out(
      `  - ensure ${settings.swapBytes ? `${settings.swapBytes / 1024 ** 2} MiB of swap` : 'nothing about swap (swap-size 0)'} and the external network "${settings.stack.network}"`,
    );
    out('  - upload the files above whose sha256 differs on the host');
    for (const [stack, files] of Object.entries(plan.rendered.composeFiles)) {
      out(`  - run the ${stack} stack: docker compose ${files.map((f) => `-f ${f}`).join(' ')} up -d --remove-orphans`);
    }
    const probes = probesFor(settings.agents.role, settings.stack.logAgent);
    out(`  - wait until every Prometheus target is up and ${titles(probes)} answer ready`);
    out(
      `\nDisk budget (auto budgets for a disk of ${formatBytes(PLAN_DISK_BYTES)}; a deploy sizes them from the host's disk and checks what is free):`,
    );
    out(budgetText(planBudget(settings, plan.rendered)));
  }
  out(`\nlint: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return errors ? 1 : 0;
}
