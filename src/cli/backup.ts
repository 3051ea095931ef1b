// `backup [PATH]` and `restore ARCHIVE` on the command line: steps on stderr, the result on stdout.

import { redactedJson, withoutWorkflowCommands } from '../base/log.js';
import { backupHost, restoreHost } from '../engine/backup.js';
import { DeployFailure } from '../engine/deploy.js';
import { dataPathRows } from '../report/gate.js';
import { dataPathTable, targetRows, targetsTable } from '../report/summary.js';
import { readSettings } from '../settings/settings.js';
import type { CliArgs } from './args.js';
import { stderrLog } from './log.js';

export async function backupCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const settings = readSettings(args.raw);
  const r = await backupHost(settings, stderrLog(args), { defaultDir: process.cwd() });
  process.stdout.write(
    args.json
      ? `${redactedJson({ ok: true, path: r.path, bytes: r.bytes, elapsedMs: r.elapsedMs, pausedMs: r.pausedMs, manifest: r.manifest }, redact)}\n`
      : withoutWorkflowCommands(redact(`${r.sentence}\n`)),
  );
  return 0;
}

export async function restoreCommand(args: CliArgs, redact: (s: string) => string): Promise<number> {
  const settings = readSettings(args.raw);
  try {
    const r = await restoreHost(settings, stderrLog(args));
    const moved = r.moved.length ? `moved aside: ${r.moved.join(', ')}\n` : '';
    process.stdout.write(
      args.json
        ? `${redactedJson({ ok: true, release: r.release, moved: r.moved, manifest: r.manifest, targets: targetRows(r.targets) }, redact)}\n`
        : withoutWorkflowCommands(
            redact(
              `${targetsTable(r.targets)}\n\n${dataPathTable(dataPathRows(r.gate))}\n\nrestored the backup of ${r.manifest.host} taken ${r.manifest.createdAt}\n${moved}release ${r.release} · Grafana ${r.grafanaUrl}\n`,
            ),
          ),
    );
    return 0;
  } catch (e) {
    if (!(e instanceof DeployFailure)) throw e;
    if (args.json) process.stdout.write(`${redactedJson({ ok: false, error: e.message, steps: e.steps }, redact)}\n`);
    throw e.error;
  }
}
