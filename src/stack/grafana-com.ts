// Dashboards from grafana.com (the grafana-dashboards input, e.g. 1860 and 19004 as in the
// seed post): downloaded on the host at deploy time, their datasource inputs bound to our
// provisioned datasource uids, and kept until the list changes.

import type { StepOutcome } from '../base/log.js';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import type { RemoteLayout } from '../model/layout.js';

export const GRAFANA_COM_URL_ENV = 'MONITORING_DEPLOY_GRAFANA_COM_URL';
const DATASOURCE_UIDS: Record<string, string> = { prometheus: 'prometheus', loki: 'loki' };

interface DashboardInput {
  name?: string;
  type?: string;
  pluginId?: string;
  value?: string;
}

/**
 * Binds a grafana.com export to this stack: `${DS_…}` inputs to our datasource uids, constants
 * to their values. Throws when the dashboard needs a datasource we do not provision.
 */
export function bindDashboard(raw: string, id: number): string {
  const json = JSON.parse(raw) as Record<string, unknown> & { __inputs?: DashboardInput[] };
  const values: Record<string, string> = {};
  for (const input of json.__inputs ?? []) {
    if (!input.name) continue;
    if (input.type === 'datasource') {
      const uid = DATASOURCE_UIDS[input.pluginId ?? ''];
      if (!uid)
        throw new Error(`dashboard ${id} needs a ${input.pluginId} datasource, which this stack does not provision`);
      values[input.name] = uid;
    } else if (input.type === 'constant' && input.value !== undefined) {
      values[input.name] = input.value;
    }
  }
  const { __inputs: _inputs, __requires: _requires, __elements: _elements, ...rest } = json;
  const text = JSON.stringify({ ...rest, id: null }, null, 2);
  return text.replace(/\$\{([A-Za-z0-9_-]+)\}/g, (m, name: string) => values[name] ?? m);
}

const dashboardsDir = (layout: RemoteLayout) => `${layout.dataDir}/grafana-com-dashboards`;

const dashboardUrl = (baseUrl: string, id: number) =>
  `${baseUrl.replace(/\/$/, '')}/api/dashboards/${id}/revisions/latest/download`;

/** Prints `@dashboard FILE` for each dashboard already downloaded. */
export function dashboardsState(layout: RemoteLayout): string {
  return `ls -1 ${shq(dashboardsDir(layout))} 2>/dev/null | sed 's/^/@dashboard /'`;
}

/** Prints the document at url: downloaded by the host itself, with whichever client it has. */
function downloadScript(url: string): string {
  return `if command -v curl >/dev/null; then curl -fsSL --max-time 60 ${shq(url)}; else wget -q -T 60 -O - ${shq(url)}; fi`;
}

/** Writes stdin as dashboard id in dir, through a temporary file: never half a dashboard. */
function writeDashboardScript(dir: string, id: number): string {
  const tmp = shq(`${dir}/.${id}.tmp`);
  return `cat > ${tmp} && mv -f -- ${tmp} ${shq(`${dir}/${id}.json`)}`;
}

function removeDashboardsScript(dir: string, files: readonly string[]): string {
  return `cd ${shq(dir)} && rm -f -- ${files.map(shq).join(' ')}`;
}

export function parseDashboards(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('@dashboard '))
    .map((l) => l.slice('@dashboard '.length));
}

/** The wanted dashboards on the host; `listed` (from dashboardsState) is what is there. */
export async function ensureGrafanaComDashboards(
  remote: RemoteHost,
  layout: RemoteLayout,
  ids: readonly number[],
  listed: readonly string[],
  baseUrl = process.env[GRAFANA_COM_URL_ENV] || 'https://grafana.com',
): Promise<StepOutcome & { warnings: string[] }> {
  const dir = dashboardsDir(layout);
  const present = new Set(listed.filter((f) => /^\d+\.json$/.test(f)));
  const warnings: string[] = [];
  const added: number[] = [];
  for (const id of ids) {
    if (present.has(`${id}.json`)) continue;
    const warning = await importDashboard(remote, dir, id, dashboardUrl(baseUrl, id));
    if (warning) warnings.push(warning);
    else added.push(id);
  }
  const wanted = new Set(ids.map((id) => `${id}.json`));
  const stale = [...present].filter((f) => !wanted.has(f));
  if (stale.length) await remote.run(removeDashboardsScript(dir, stale), { what: 'Removing old dashboards' });
  const have = ids.filter((id) => present.has(`${id}.json`));
  return {
    changed: added.length > 0 || stale.length > 0,
    detail: dashboardsDetail(ids, added, stale, have, warnings),
    warnings,
  };
}

/** Downloads one dashboard on the host, binds it and writes it; a warning instead if it cannot. */
async function importDashboard(remote: RemoteHost, dir: string, id: number, url: string): Promise<string | undefined> {
  let json: string;
  try {
    json = await remote.run(downloadScript(url), {
      what: `Downloading grafana.com dashboard ${id}`,
      timeoutMs: 90_000,
    });
    if (!json.trim().startsWith('{')) throw new Error('the answer is not a dashboard');
  } catch (e) {
    return `grafana.com dashboard ${id} could not be downloaded on the host from ${url} (${lastLine(e)}); the deploy goes on without it.`;
  }
  let bound: string;
  try {
    bound = bindDashboard(json, id);
  } catch (e) {
    return `grafana.com dashboard ${id} was not imported: ${(e as Error).message}`;
  }
  await remote.run(writeDashboardScript(dir, id), { what: `Writing dashboard ${id}`, stdin: bound });
  return undefined;
}

function dashboardsDetail(
  ids: readonly number[],
  added: readonly number[],
  stale: readonly string[],
  have: readonly number[],
  warnings: readonly string[],
): string {
  return [
    added.length ? `imported ${added.join(', ')}` : '',
    stale.length ? `removed ${stale.join(', ')}` : '',
    have.length ? `${have.join(', ')} present` : '',
    warnings.length ? `${warnings.length} not imported (see warnings)` : '',
    ids.length === 0 ? 'none requested' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/** What the host's downloader said last (curl's or wget's reason). */
function lastLine(e: unknown): string {
  return ((e as Error).message ?? String(e)).trim().split('\n').pop() ?? '';
}
