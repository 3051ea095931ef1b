// Grafana's HTTP API as the backup/restore tests use it: make a dashboard and a data source with a
// password, read them back, check the data source's health, try the admin password. The calls and
// answers are Grafana 13's (pkg/api/dashboard.go, pkg/api/datasources.go); in the sandbox they are
// answered by the Grafana STAND-IN (test/sandbox/images/grafana/grafana-standin.js), which keeps
// what it is given in its database file under the data directory, as Grafana keeps it in its database.
import { execFileSync } from 'node:child_process';

export interface Grafana {
  /** http://address:3000, no trailing slash. */
  readonly base: string;
  readonly user: string;
  readonly password: string;
}

export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

/**
 * The sandbox's Grafana as a test reaches it: the `grafana` container's address on its network (this
 * machine is the sandbox host; the port is also published, but grafana-bind may keep it on loopback).
 */
export function sandboxGrafana(password: string, user = 'admin'): Grafana {
  const address = execFileSync(
    'docker',
    ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', 'grafana'],
    { encoding: 'utf8' },
  )
    .trim()
    .split(' ')[0];
  if (!address) throw new Error('the grafana container has no address: is the stack up (deployed)?');
  return { base: `http://${address}:3000`, user, password };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** One API call as the given user; the answer's JSON (or its text, when it is not JSON). */
export async function grafanaCall<T = Record<string, unknown>>(
  g: Grafana,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer<T>> {
  const headers: Record<string, string> = { Authorization: basic(g.user, g.password) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${g.base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: r.status, body: parsed as T };
}

function expectOk<T>(what: string, a: Answer<T>): T {
  if (a.status !== 200) throw new Error(`${what}: Grafana answered ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

export interface SavedDashboard {
  readonly id: number;
  readonly uid: string;
  readonly url: string;
  readonly version: number;
}

/** POST /api/dashboards/db: a new dashboard with this title (and uid, if given); throws unless 200. */
export async function createDashboard(
  g: Grafana,
  title: string,
  more: { uid?: string; panels?: unknown[] } = {},
): Promise<SavedDashboard> {
  const dashboard = { title, uid: more.uid, panels: more.panels ?? [], schemaVersion: 41 };
  return expectOk(
    `creating dashboard "${title}"`,
    await grafanaCall<SavedDashboard>(g, 'POST', '/api/dashboards/db', { dashboard, overwrite: false }),
  );
}

/** GET /api/dashboards/uid/:uid: 200 {dashboard, meta}, or 404 {message: "Dashboard not found"}. */
export function getDashboard(g: Grafana, uid: string) {
  return grafanaCall<{ dashboard?: { title?: string; uid?: string }; meta?: Record<string, unknown> }>(
    g,
    'GET',
    `/api/dashboards/uid/${encodeURIComponent(uid)}`,
  );
}

/** GET /api/search?type=dash-db: the dashboards whose title contains `query`. */
export async function searchDashboards(g: Grafana, query = ''): Promise<{ uid: string; title: string }[]> {
  const path = `/api/search?type=dash-db&query=${encodeURIComponent(query)}`;
  return expectOk('searching dashboards', await grafanaCall<{ uid: string; title: string }[]>(g, 'GET', path));
}

export interface PasswordDatasource {
  readonly name: string;
  /** Where the data source points: an endpoint that refuses requests without this password. */
  readonly url: string;
  readonly basicAuthUser: string;
  readonly basicAuthPassword: string;
  /** prometheus (the default) or loki: the types the stand-in health-checks. */
  readonly type?: string;
}

/** POST /api/datasources with basic auth, the password in secureJsonData; its uid and id. */
export async function createDatasourceWithPassword(
  g: Grafana,
  ds: PasswordDatasource,
): Promise<{ uid: string; id: number }> {
  const body = {
    name: ds.name,
    type: ds.type ?? 'prometheus',
    url: ds.url,
    access: 'proxy',
    basicAuth: true,
    basicAuthUser: ds.basicAuthUser,
    jsonData: {},
    secureJsonData: { basicAuthPassword: ds.basicAuthPassword },
  };
  const added = expectOk(
    `adding data source "${ds.name}"`,
    await grafanaCall<{ id: number; datasource: { uid: string } }>(g, 'POST', '/api/datasources', body),
  );
  return { uid: added.datasource.uid, id: added.id };
}

/** GET /api/datasources/uid/:uid: secureJsonFields says which secrets Grafana could read (never their values). */
export function getDatasource(g: Grafana, uid: string) {
  return grafanaCall<{ name?: string; url?: string; secureJsonFields?: Record<string, boolean> }>(
    g,
    'GET',
    `/api/datasources/uid/${encodeURIComponent(uid)}`,
  );
}

/**
 * GET /api/datasources/uid/:uid/health: 200 {status: "OK", message} when Grafana queried the data source,
 * 400 {status: "ERROR", message} when the data source refused or failed (e.g. "401 Unauthorized - ...").
 */
export function datasourceHealth(g: Grafana, uid: string) {
  return grafanaCall<{ status?: string; message?: string }>(
    g,
    'GET',
    `/api/datasources/uid/${encodeURIComponent(uid)}/health`,
  );
}

/**
 * Whether Grafana lets `user` in with `password` (basic auth on an API call). Each refusal counts
 * toward Grafana's brute-force block (5 failures in 5 minutes lock the login), so try few wrong ones.
 */
export async function canLogIn(g: Grafana, password: string, user = g.user): Promise<boolean> {
  const r = await grafanaCall({ ...g, user, password }, 'GET', '/api/search?limit=1');
  if (r.status !== 200 && r.status !== 401) {
    throw new Error(`logging in as ${user}: Grafana answered ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.status === 200;
}
