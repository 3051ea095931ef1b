// The Disk budget step: what the stack may take on this host, item by item, against what its
// filesystems have free, with the memory limits against RAM and swap. A stack that does not fit
// stops the deploy before anything is written.

import type { BudgetReport } from '../host/disk-budget.js';
import {
  type BudgetInputs,
  budgetItems,
  budgetReport,
  type DiskUsage,
  diskBudget,
  diskBudgetError,
} from '../host/disk-budget.js';
import { memoryBudget, memorySentence } from '../host/memory-budget.js';
import { swapFileBytes } from '../host/swap.js';
import { resolveBudgets } from '../model/budget.js';
import { buildModel, type ServiceModel } from '../model/compose.js';
import { PROJECT_NAMES, stackOfComposeFile } from '../model/layout.js';
import type { Settings } from '../settings/settings.js';
import { wantedServices } from '../stack/compose.js';
import type { RenderedStack } from '../stack/render.js';
import { type OnHost, warn } from './session.js';

const projectOfFile = (file: string) => PROJECT_NAMES[stackOfComposeFile(file)];

/** The services this host runs, as the rendered compose files declare them. */
export function runningServices(rendered: RenderedStack): ServiceModel[] {
  const wanted = wantedServices(rendered);
  return buildModel(rendered.files, rendered.variables).services.filter((s) =>
    wanted.some((w) => w.service === s.name && w.project === projectOfFile(s.file)),
  );
}

/** The image a service runs: the images input's, else its compose file's. */
export const imageOf = (settings: Settings) => (s: ServiceModel) =>
  settings.stack.images[s.name] ?? s.image?.value ?? '';

/** The images the host's stack runs (to ask the host which it has). */
export function stackImages(settings: Settings, rendered: RenderedStack): string[] {
  return [...new Set(runningServices(rendered).map(imageOf(settings)).filter(Boolean))];
}

export function budgetInputs(
  settings: Settings,
  rendered: RenderedStack,
  usage: DiskUsage,
  volumeDiskBytes: number | undefined,
  swapActiveKb: number,
): BudgetInputs {
  return {
    budgets: resolveBudgets(settings.disk, volumeDiskBytes),
    services: runningServices(rendered),
    imageOf: imageOf(settings),
    projectOf: (s) => projectOfFile(s.file),
    usage,
    swapFileBytes: swapFileBytes(swapActiveKb, settings.swapBytes),
  };
}

interface Budgeting extends OnHost {
  readonly rendered: RenderedStack;
  readonly state: { readonly disk: DiskUsage; readonly swapActiveKb: number };
}

/** Fails, naming the shortfall and the fix, when the stack cannot fit; its value is the report. */
export function budgetStep(h: Budgeting): Promise<BudgetReport> {
  return h.steps.run('Disk budget', async () => {
    const inputs = budgetInputs(h.settings, h.rendered, h.state.disk, h.facts.volumeDiskBytes, h.state.swapActiveKb);
    const budget = diskBudget(budgetItems(inputs), h.state.disk);
    const error = diskBudgetError(budget);
    if (error) throw error;
    const swapAfter = Math.max(h.facts.swapTotalBytes, h.settings.swapBytes);
    const memory = memoryBudget(inputs.services, h.facts.memTotalBytes, swapAfter);
    if (!memory.fits) warn(h, memorySentence(memory));
    const report = budgetReport(budget, memorySentence(memory));
    return { value: report, detail: report.filesystems.join('; ') };
  });
}
