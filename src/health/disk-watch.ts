// The watchdog's look at what grows: disk-guard still at work (its status is fresh), Loki within
// its budget, the app's log files within their share. Read from disk-guard's status file and du.
import { shq } from '../connection/shell.js';
import { formatBytes } from '../host/disk-budget.js';
import type { RemoteLayout } from '../model/layout.js';

/** disk-guard writes its status every minute: older than this, it has stopped. */
const STALE_SEC = 5 * 60;

export function diskWatchScript(layout: RemoteLayout): string {
  return `sed 's/^/@dg /' ${shq(`${layout.dataDir}/disk-guard/status`)} 2>/dev/null
echo "@dg-now $(date +%s)"
du -sk ${shq(`${layout.logsDir}/app`)} 2>/dev/null | awk '{print "@app-logs-kib", $1}'`;
}

export interface DiskWatch {
  readonly status: Readonly<Record<string, number>>;
  readonly nowSec: number;
  readonly appLogsBytes?: number;
}

export function parseDiskWatch(out: string): DiskWatch {
  const status: Record<string, number> = {};
  for (const m of out.matchAll(/^@dg ([a-z_]+)=(\d+)$/gm)) status[m[1] as string] = Number(m[2]);
  const app = /^@app-logs-kib (\d+)$/m.exec(out)?.[1];
  return {
    status,
    nowSec: Number(/^@dg-now (\d+)$/m.exec(out)?.[1] ?? 0),
    appLogsBytes: app === undefined ? undefined : Number(app) * 1024,
  };
}

/** Problems, one sentence each; diskGuard: the deployed stack runs disk-guard. */
export function diskWatchProblems(w: DiskWatch, diskGuard: boolean, appLogsBudget: number): string[] {
  const out: string[] = [];
  const { time, loki_kib: lokiKib, loki_budget_kib: budgetKib } = w.status;
  if (diskGuard && (time === undefined || w.nowSec - time > STALE_SEC))
    out.push(
      `disk-guard is not at work (${time === undefined ? 'no status yet' : `its status is ${Math.round((w.nowSec - time) / 60)} min old`}): Loki and nginx's log files are not kept within their budget. Fix: \`docker logs disk-guard\`, then redeploy.`,
    );
  if (lokiKib !== undefined && budgetKib && lokiKib > budgetKib)
    out.push(
      `Loki takes ${formatBytes(lokiKib * 1024)}, more than its logs-disk-budget of ${formatBytes(budgetKib * 1024)}. Fix: \`docker logs disk-guard\`; a smaller logs-disk-budget lowers the rate Loki accepts.`,
    );
  if (w.appLogsBytes !== undefined && w.appLogsBytes > appLogsBudget)
    out.push(
      `The app's log files take ${formatBytes(w.appLogsBytes)} in logs/app, more than app-logs-disk-budget (${formatBytes(appLogsBudget)}); nothing deletes them. Fix: a Logback rolling policy with totalSizeCap (see the README), or a larger app-logs-disk-budget.`,
    );
  return out;
}
