// The memory budget: the stack's memory limits added up against what the host has, RAM and
// swap, less what the host itself needs. Limits are ceilings, not use: a stack over its budget
// still runs, but with every service at its limit the host would be out of memory.
import { MiB } from '../model/budget.js';
import type { ServiceModel } from '../model/compose.js';
import { formatBytes } from './disk-budget.js';

/** The kernel, dockerd and containerd, sshd: what the host keeps for itself. */
export const HOST_MEMORY_RESERVE = 256 * MiB;

export interface MemoryBudget {
  readonly limitsBytes: number;
  /** Services without a memory limit. */
  readonly unlimited: readonly string[];
  readonly ramBytes: number;
  /** Swap once the Swap step has run. */
  readonly swapBytes: number;
  readonly fits: boolean;
}

export function memoryBudget(services: readonly ServiceModel[], ramBytes: number, swapBytes: number): MemoryBudget {
  const limitsBytes = services.reduce((sum, s) => sum + (s.memLimitBytes ?? 0), 0);
  const unlimited = services.filter((s) => s.memLimitBytes === undefined).map((s) => s.name);
  return {
    limitsBytes,
    unlimited,
    ramBytes,
    swapBytes,
    fits: unlimited.length === 0 && limitsBytes + HOST_MEMORY_RESERVE <= ramBytes + swapBytes,
  };
}

export function memorySentence(m: MemoryBudget): string {
  const have = `${formatBytes(m.ramBytes)} of RAM and ${formatBytes(m.swapBytes)} of swap`;
  const limits = `memory limits add up to ${formatBytes(m.limitsBytes)}${m.unlimited.length ? ` (${m.unlimited.join(', ')} without a limit)` : ''}`;
  return m.fits
    ? `memory: ${limits}, within ${have} less ${formatBytes(HOST_MEMORY_RESERVE)} for the host`
    : `memory: ${limits}, more than ${have} less ${formatBytes(HOST_MEMORY_RESERVE)} for the host: with every service at its limit the kernel would kill one. Add swap (swap-size) or a bigger instance`;
}
