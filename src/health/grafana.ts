// Grafana can use its data: through the tunnel and with the admin credentials (never printed),
// each provisioned data source answers Grafana's own health check, every provisioned alert rule
// is loaded, and with a webhook the Discord contact point exists. Each failure says what Grafana
// answered. API shapes: pkg/api/api.go (routes), pkg/api/plugins.go (CheckHealth → 200
// {"status":"OK"} / 400 {"status":"ERROR"}), pkg/services/ngalert/api/tooling/definitions.
import { posix } from 'node:path';
import { basicAuth, type HttpResponse, httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { headline } from '../errors.js';
import { mountHolding, type StackModel } from '../model/compose.js';
import type { CheckState } from './probes.js';

export interface GrafanaDatasource {
  readonly uid: string;
  readonly name: string;
  readonly url?: string;
}

export interface GrafanaPlan {
  readonly user: string;
  readonly password: string;
  readonly datasources: readonly GrafanaDatasource[];
  /** uids of the alert rules the provisioning files define. */
  readonly ruleUids: readonly string[];
  /** Contact points the provisioning files define (e.g. discord). */
  readonly contactPoints: readonly string[];
}

/** What the mounted provisioning files promise, read from the stack as deployed. */
export function grafanaProvisioning(model: StackModel): Omit<GrafanaPlan, 'user' | 'password'> | undefined {
  const grafana = model.services.find((s) => s.name === 'grafana');
  const mount = grafana && mountHolding(grafana, '/etc/grafana/provisioning');
  if (!mount?.source.startsWith('./')) return undefined;
  const dir = posix.normalize(mount.source.slice(2)).replace(/\/$/, '');
  const yamls = [...model.files.keys()].filter((p) => p.startsWith(`${dir}/`) && /\.ya?ml$/.test(p));
  const datasources: GrafanaDatasource[] = [];
  const ruleUids: string[] = [];
  const contactPoints: string[] = [];
  for (const path of yamls) {
    const data = model.yaml(path)?.data as {
      datasources?: { uid?: string; name?: string; url?: string }[];
      groups?: { rules?: { uid?: string }[] }[];
      contactPoints?: { name?: string }[];
    } | null;
    for (const d of data?.datasources ?? [])
      if (d.uid) datasources.push({ uid: d.uid, name: d.name ?? d.uid, url: d.url });
    for (const g of data?.groups ?? []) for (const r of g.rules ?? []) if (r.uid) ruleUids.push(r.uid);
    for (const c of data?.contactPoints ?? []) if (c.name) contactPoints.push(c.name);
  }
  return { datasources, ruleUids, contactPoints };
}

const brief = (s: string) => s.trim().replace(/\s+/g, ' ').slice(0, 200);

function message(res: HttpResponse): string {
  try {
    const m = (JSON.parse(res.body) as { message?: string }).message;
    if (m) return brief(m);
  } catch {}
  return brief(res.body);
}

export function judgeDatasourceHealth(ds: GrafanaDatasource, res: HttpResponse): string | undefined {
  if (res.status === 401)
    return 'Grafana refused the admin credentials (401): the admin password on the host is not the one Grafana has';
  let status = '';
  try {
    status = String((JSON.parse(res.body) as { status?: string }).status ?? '');
  } catch {}
  if (res.status === 200 && status === 'OK') return undefined;
  return `Grafana cannot use data source ${ds.name} (uid ${ds.uid}${ds.url ? `, ${ds.url}` : ''}): ${res.status} ${message(res)}`;
}

export function judgeAlertRules(expected: readonly string[], res: HttpResponse): { why?: string; loaded: number } {
  if (res.status !== 200) return { why: `Grafana's alert rules API answered ${res.status} ${message(res)}`, loaded: 0 };
  const rules = JSON.parse(res.body) as { uid?: string }[];
  const have = new Set(rules.map((r) => r.uid));
  const missing = expected.filter((u) => !have.has(u));
  return {
    loaded: rules.length,
    why: missing.length
      ? `Grafana has not loaded the alert rules ${missing.join(', ')} (it has ${rules.length})`
      : undefined,
  };
}

export function judgeContactPoints(expected: readonly string[], res: HttpResponse): string | undefined {
  if (res.status !== 200) return `Grafana's contact points API answered ${res.status} ${message(res)}`;
  const names = new Set((JSON.parse(res.body) as { name?: string }[]).map((c) => c.name));
  const missing = expected.filter((n) => !names.has(n));
  return missing.length ? `Grafana has no contact point ${missing.join(', ')}` : undefined;
}

export interface GrafanaSeen {
  readonly checks: readonly CheckState[];
  readonly alertRulesLoaded: number;
}

/** Grafana's own view of its data sources, rules and contact points, asked in parallel. */
export async function inspectGrafana(
  remote: RemoteHost,
  address: string,
  container: string,
  plan: GrafanaPlan,
): Promise<GrafanaSeen> {
  const auth = basicAuth({ username: plan.user, password: plan.password });
  const get = (path: string) => httpViaHost(remote, address, 3000, { path, headers: auth, timeoutMs: 10_000 });
  const check = async (name: string, judge: () => Promise<string | undefined>): Promise<CheckState> => {
    try {
      const why = await judge();
      return { name, ok: !why, detail: why ?? 'healthy', container };
    } catch (e) {
      return { name, ok: false, detail: `Grafana did not answer: ${headline(e).slice(0, 200)}`, container };
    }
  };
  let loaded = 0;
  const checks = await Promise.all([
    ...plan.datasources.map((ds) =>
      check(`grafana data source ${ds.name}`, async () =>
        judgeDatasourceHealth(ds, await get(`/api/datasources/uid/${encodeURIComponent(ds.uid)}/health`)),
      ),
    ),
    check('grafana alert rules', async () => {
      const r = judgeAlertRules(plan.ruleUids, await get('/api/v1/provisioning/alert-rules'));
      loaded = r.loaded;
      return r.why;
    }).then((c) => (c.ok ? { ...c, detail: `${loaded} loaded` } : c)),
    ...(plan.contactPoints.length
      ? [
          check('grafana contact points', async () =>
            judgeContactPoints(plan.contactPoints, await get('/api/v1/provisioning/contact-points')),
          ),
        ]
      : []),
  ]);
  return { checks, alertRulesLoaded: loaded };
}
