// What the Grafana STAND-IN keeps across a restart, as Grafana keeps it in its database: dashboards
// and a data source with a password, made through its HTTP API; and what another secret key does to
// that password. The stand-in runs as a local Node process on a temp data directory; the data source
// points at the password-proxy fixture in front of a real Prometheus, so its health says whether the
// stand-in sent the password it was given.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canLogIn,
  createDashboard,
  createDatasourceWithPassword,
  datasourceHealth,
  type Grafana,
  getDashboard,
  getDatasource,
  grafanaCall,
  searchDashboards,
} from '../helpers/grafana-api';
import { type LocalGrafanaStandin, startLocalGrafanaStandin } from '../helpers/grafana-standin-local';
import { findProgram, PROMETHEUS } from '../helpers/machine';
import { type PasswordProxy, startPasswordProxy } from '../helpers/password-proxy';
import { freePorts } from '../helpers/realbin';

const work = mkdtempSync(join(tmpdir(), 'md-grafana-state-'));
const dataDir = join(work, 'grafana');
const ADMIN = 'Admin-Password-7x9';
const KEY = 'first-secret-key-0123456789abcdefghij';
const DS_PASSWORD = 'ds-password-d4e5f6';

const prom = findProgram(PROMETHEUS);
if (!prom.path && !prom.problem)
  console.warn('grafana-standin-state: no prometheus (the sandbox cache or PATH): skipped');
const stopPrometheus: (() => void)[] = [];
let proxy: PasswordProxy;
const running: LocalGrafanaStandin[] = [];

async function startPrometheus(bin: string): Promise<string> {
  const [port] = await freePorts(1);
  const child = spawn(
    bin,
    [
      '--config.file=/dev/null',
      `--storage.tsdb.path=${join(work, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  stopPrometheus.push(() => child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${base}/-/ready`).catch(() => undefined))?.ok) {
    if (Date.now() > deadline) throw new Error(`Prometheus did not get ready at ${base}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return base;
}

async function grafana(secretKey: string): Promise<LocalGrafanaStandin> {
  const g = await startLocalGrafanaStandin({ dataDir, secretKey, adminPassword: ADMIN });
  running.push(g);
  return g;
}
async function restart(g: LocalGrafanaStandin, secretKey: string): Promise<LocalGrafanaStandin> {
  await g.stop();
  return grafana(secretKey);
}

beforeAll(async () => {
  if (prom.problem) throw new Error(prom.problem);
  if (!prom.path) return;
  const prometheus = await startPrometheus(prom.path);
  proxy = await startPasswordProxy({ user: 'reader', password: DS_PASSWORD, upstream: async () => prometheus });
}, 60_000);

afterAll(async () => {
  for (const g of running) await g.stop();
  await proxy?.stop();
  for (const stop of stopPrometheus) stop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!prom.path && !prom.problem)('the Grafana stand-in keeps what its API was given', () => {
  let first: LocalGrafanaStandin;
  let board: { uid: string };
  let ds: { uid: string };

  it('the password proxy refuses Prometheus without its password (so the health below can fail)', async () => {
    const url = `${proxy.url('127.0.0.1')}/api/v1/query?query=1%2B1`;
    expect((await fetch(url)).status).toBe(401);
    const wrong = { Authorization: `Basic ${Buffer.from('reader:nope').toString('base64')}` };
    expect((await fetch(url, { headers: wrong })).status).toBe(401);
    const right = { Authorization: `Basic ${Buffer.from(`reader:${DS_PASSWORD}`).toString('base64')}` };
    const r = await fetch(url, { headers: right });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'success', data: { result: [expect.anything(), '2'] } });
  });

  it('makes a dashboard and a data source with a password, in Grafana 13 shapes', async () => {
    first = await grafana(KEY);
    board = await createDashboard(first, 'Kept through a restore');
    expect(board).toMatchObject({
      id: 1,
      version: 1,
      url: expect.stringMatching(/^\/d\/[^/]+\/kept-through-a-restore$/),
    });
    ds = await createDatasourceWithPassword(first, {
      name: 'Guarded Prometheus',
      url: proxy.url('127.0.0.1'),
      basicAuthUser: 'reader',
      basicAuthPassword: DS_PASSWORD,
    });
    const read = await getDatasource(first, ds.uid);
    expect(read.status).toBe(200);
    expect(read.body.secureJsonFields).toEqual({ basicAuthPassword: true });
    expect(JSON.stringify(read.body)).not.toContain(DS_PASSWORD);
    const before = proxy.seen.accepted;
    expect((await datasourceHealth(first, ds.uid)).body).toMatchObject({ status: 'OK' });
    expect(proxy.seen.accepted).toBeGreaterThan(before);
  });

  it('keeps the password encrypted in its database file, never in clear', () => {
    const db = readFileSync(join(dataDir, 'grafana-standin.db.json'), 'utf8');
    expect(db).not.toContain(DS_PASSWORD);
    expect(db).toContain('Kept through a restore');
  });

  it('restarted on the same data and secret key: the dashboard, the password and the admin login all work', async () => {
    const g = await restart(first, KEY);
    const got = await getDashboard(g, board.uid);
    expect(got.status).toBe(200);
    expect(got.body.dashboard).toMatchObject({ title: 'Kept through a restore', uid: board.uid, version: 1 });
    expect((await searchDashboards(g, 'kept')).map((d) => d.uid)).toEqual([board.uid]);
    expect((await getDatasource(g, ds.uid)).body.secureJsonFields).toEqual({ basicAuthPassword: true });
    const refusedBefore = proxy.seen.refused;
    const health = await datasourceHealth(g, ds.uid);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'OK', message: 'Successfully queried the Prometheus API.' });
    expect(proxy.seen.refused).toBe(refusedBefore);
    expect(await canLogIn(g, ADMIN)).toBe(true);
    expect(await canLogIn(g, 'not-the-admin-password')).toBe(false);
    first = g;
  });

  it('an admin password changed through the API is the one that logs in after a restart', async () => {
    const changed = await grafanaCall(first, 'PUT', '/api/admin/users/1/password', { password: 'Changed-Pass-42' });
    expect(changed.status).toBe(200);
    const g: Grafana = await restart(first, KEY);
    expect(await canLogIn(g, 'Changed-Pass-42')).toBe(true);
    expect(await canLogIn(g, ADMIN)).toBe(false);
    const back = await grafanaCall({ ...g, password: 'Changed-Pass-42' }, 'PUT', '/api/admin/users/1/password', {
      password: ADMIN,
    });
    expect(back.status).toBe(200);
    first = running[running.length - 1] as LocalGrafanaStandin;
  });

  it('restarted with ANOTHER secret key: the dashboard stays, the password is lost as Grafana loses it', async () => {
    const g = await restart(first, 'another-secret-key-zyxwvutsrqponmlkjihg');
    expect((await getDashboard(g, board.uid)).status).toBe(200);
    // Grafana's AES-CFB yields unreadable bytes, not an error: the data source is used without its
    // password, and the endpoint that needs it refuses (see the stand-in's header).
    expect((await getDatasource(g, ds.uid)).body.secureJsonFields).toEqual({});
    const refusedBefore = proxy.seen.refused;
    const health = await datasourceHealth(g, ds.uid);
    expect(health.status).toBe(400);
    expect(health.body).toMatchObject({
      status: 'ERROR',
      message: '401 Unauthorized - There was an error returned querying the Prometheus API.',
    });
    expect(proxy.seen.refused).toBeGreaterThan(refusedBefore);
    expect(g.log()).toMatch(/cannot decrypt the data source secrets with this GF_SECURITY_SECRET_KEY/);
    expect(await canLogIn(g, ADMIN)).toBe(true);
    // Back on the right key, the same stored password works again: nothing was overwritten.
    const again = await restart(g, KEY);
    expect((await datasourceHealth(again, ds.uid)).status).toBe(200);
  });

  it('answers what it does not have as Grafana does', async () => {
    const g = running[running.length - 1] as LocalGrafanaStandin;
    expect(await getDashboard(g, 'no-such-board')).toEqual({
      status: 404,
      body: { message: 'Dashboard not found', traceID: '' },
    });
    expect(await getDatasource(g, 'no-such-ds')).toEqual({ status: 404, body: { message: 'Data source not found' } });
    const again = await grafanaCall(g, 'POST', '/api/dashboards/db', {
      dashboard: { title: 'Other', uid: board.uid },
    });
    expect(again).toEqual({
      status: 412,
      body: { message: 'The dashboard has been changed by someone else', status: 'version-mismatch' },
    });
    const sameName = await grafanaCall(g, 'POST', '/api/datasources', {
      name: 'Guarded Prometheus',
      type: 'prometheus',
    });
    expect(sameName.status).toBe(409);
    const untitled = await grafanaCall(g, 'POST', '/api/dashboards/db', { dashboard: { title: ' ' } });
    expect(untitled).toEqual({
      status: 400,
      body: { message: 'Dashboard title cannot be empty', status: 'empty-name' },
    });
  });
});

describe('provisioned dashboards', () => {
  it('are listed by search next to the ones made through the API, and shown as provisioned', async () => {
    const root = join(work, 'provisioned');
    const boards = join(root, 'boards');
    mkdirSync(join(root, 'provisioning', 'dashboards'), { recursive: true });
    mkdirSync(boards, { recursive: true });
    writeFileSync(
      join(root, 'provisioning', 'dashboards', 'd.yaml'),
      `apiVersion: 1\nproviders:\n  - name: p\n    folder: Monitoring\n    options:\n      path: ${boards}\n`,
    );
    writeFileSync(join(boards, 'host.json'), JSON.stringify({ uid: 'host-board', title: 'Host Board', panels: [] }));
    const g = await startLocalGrafanaStandin({
      dataDir: join(root, 'data'),
      provisioningDir: join(root, 'provisioning'),
      secretKey: KEY,
      adminPassword: ADMIN,
    });
    running.push(g);
    const made = await createDashboard(g, 'Made Board');
    expect((await searchDashboards(g, 'board')).map((d) => d.uid)).toEqual(['host-board', made.uid]);
    const shown = await getDashboard(g, 'host-board');
    expect(shown.body.meta).toMatchObject({ provisioned: true, folderTitle: 'Monitoring' });
    expect((await getDashboard(g, made.uid)).body.meta).toMatchObject({ provisioned: false, folderTitle: 'General' });
  });
});
