// The deploy end to end on the sandbox host, running the built dist/: first deploy, no-op rerun,
// a config change, a wrong host key, and two deploys at once.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  containerIds,
  deployWithAction,
  deployWithCli,
  hostSnapshot,
  lokiLines,
  lokiStreams,
  sandboxInputs,
  sh,
} from '../helpers/deploy';
import { runCli, runCliOnTerminal } from '../helpers/dist';
import { connectionFlags, keyEnv, loadSandbox, type Sandbox } from '../helpers/sandbox';
import { screen } from '../helpers/terminal';
import { until } from '../helpers/wait';

let s: Sandbox;
beforeAll(() => {
  s = loadSandbox();
});

const BUNDLED = resolve(__dirname, '../../compose');

describe('deploy (dist/index.js on the sandbox host)', () => {
  it('a first deploy to a bare host goes green', async () => {
    expect(sh('swapon --show=NAME --noheadings')).not.toContain('/swapfile-monitoring-deploy');
    const r = await deployWithAction(sandboxInputs(s));
    expect(r.stdout).not.toContain('::error::');
    expect(r.code).toBe(0);

    // swap active, with its fstab line
    expect(sh('swapon --show=NAME --noheadings')).toContain('/swapfile-monitoring-deploy');
    expect(sh('cat /etc/fstab')).toContain('/swapfile-monitoring-deploy none swap sw 0 0');
    // the network, and both stacks on it
    expect(sh("docker network inspect -f '{{.Driver}}' monitoring")).toBe('bridge');
    const onNetwork = sh("docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' monitoring")
      .split(' ')
      .sort();
    expect(onNetwork).toEqual(['grafana', 'loki', 'nginx', 'node-exporter', 'prometheus', 'promtail', 'server'].sort());
    // only Grafana (and the app's nginx) publish ports
    expect(sh("docker ps --format '{{.Names}} {{.Ports}}' | grep -- '->' | cut -d' ' -f1 | sort").split('\n')).toEqual([
      'grafana',
      'nginx',
    ]);

    // the real Prometheus reports the app and node-exporter targets up
    const targets = JSON.parse(r.outputs.targets ?? '[]') as { job: string; instance: string; health: string }[];
    expect(targets.map((t) => `${t.job} ${t.instance} ${t.health}`).sort()).toEqual([
      'app server:19021 up',
      'node node-exporter:9100 up',
      'prometheus localhost:9090 up',
    ]);
    expect(r.outputs.changed).toBe('true');
    expect(r.outputs.release).toMatch(/^[0-9a-f]{12}$/);
    expect(r.outputs['grafana-url']).toBe('http://127.0.0.1:3000');
    expect(r.stdout).toMatch(/Health gate: ok in .* 3 targets up; Prometheus, Loki, Grafana and Promtail ready/);
    // the job summary holds the steps and the targets table
    expect(r.summary).toContain('### Prometheus targets');
    expect(r.summary).toMatch(/\| app \| server:19021 \| 🟢 up \|/);
    expect(r.summary).toMatch(/\| Swap \| 🟡 changed \|/);
    // The data path: each log job's canary line came back from the real Loki under its job label,
    // and Grafana (stand-in) reached both data sources and loaded every provisioned rule.
    for (const job of ['debug_logs', 'info_logs', 'warn_logs', 'error_logs', 'nginx_log']) {
      expect(r.summary).toMatch(
        new RegExp(
          `\\| log job ${job} \\| 🟢 \\| canary arrived in [0-9.]+m?s; (the app's newest line \\([\\w.-]+, written \\d+s ago\\) is in Loki|the app has written nothing \\S+ matches yet|[\\w.-]+ last written before Promtail \\(re\\)started: nothing new since|[\\w.-]+ has no complete line yet) \\|`,
        ),
      );
      expect(lokiLines(`{job="${job}"} |= "monitoring-deploy-canary"`).length).toBeGreaterThan(0);
    }
    expect(r.summary).toMatch(/\| Grafana data source Prometheus \| 🟢 \| healthy \|/);
    expect(r.summary).toMatch(/\| Grafana data source Loki \| 🟢 \| healthy \|/);
    expect(r.summary).toMatch(/\| Grafana alert rules \| 🟢 \| 6 loaded \|/);
    expect(r.stdout).toMatch(
      /canary lines of 5 log jobs in Loki; the app's newest lines of [0-5] log jobs in Loki( \([1-5] not awaited: [^)]+\))?; Grafana reads 2 data sources, 6 alert rules loaded/,
    );

    // secrets and .env are mode 600; the generated Grafana password is not printed
    expect(sh(`stat -c '%a %U' ${s.home}/monitoring/.env ${s.home}/monitoring/secrets/grafana_admin_password`)).toBe(
      `600 ${s.user}\n600 ${s.user}`,
    );
    const password = sh(`cat ${s.home}/monitoring/secrets/grafana_admin_password`);
    expect(password.length).toBeGreaterThan(16);
    expect(r.stdout + r.stderr + r.summary).not.toContain(password);
  });

  it("the real Promtail finds the app's and nginx's log files through the mounts", async () => {
    // A request through nginx writes its access log.
    expect(sh('curl -s http://127.0.0.1/')).toContain('app stand-in');
    // The job names alone prove nothing here: the canary's files give them at once. The files'
    // own streams come when Promtail has read a line of each: nginx's access log (written as
    // segments, access-YYYYmmddTHHMMSS.log, each tailed by its path) and the app's info.log.
    // Wait for exactly those, then look at them.
    const accessStream = /"filename":"\/var\/log\/nginx\/access-\d{8}T\d{6}\.log"/;
    const infoStream = '"filename":"/var/log/app/info/info.log"';
    let streams: string[] = [];
    await until(
      "the streams of nginx's access log and the app's info.log in Loki",
      90,
      () => {
        streams = lokiStreams();
        return (streams.some((l) => accessStream.test(l)) && streams.some((l) => l.includes(infoStream))) || undefined;
      },
      () => streams.join(' '),
    );
    const access = JSON.parse(streams.find((l) => accessStream.test(l)) ?? '{}');
    expect(access).toMatchObject({ job: 'nginx_log', host: '127.0.0.1' });
    expect(streams).toContainEqual(expect.stringContaining(infoStream));
    // Every job, as the CLI's fetch reads Loki's labels through its tunnel.
    const r = await runCli(['fetch', ...connectionFlags(s), 'loki:3100/loki/api/v1/label/job/values'], keyEnv(s));
    const jobs: string[] = JSON.parse(r.stdout.split('\n').slice(1).join('\n') || '{}').data ?? [];
    expect(jobs).toEqual(expect.arrayContaining(['debug_logs', 'info_logs', 'warn_logs', 'nginx_log']));
  });

  it('an immediate second run changes nothing: nothing uploaded, nothing restarted', async () => {
    const before = containerIds();
    const r = await deployWithCli(sandboxInputs(s));
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, changed: false, restarted: [], uploadedBytes: 0 });
    const steps = (r.json.steps as { name: string; status: string }[]).map((x) => `${x.name}=${x.status}`);
    expect(steps.filter((x) => x.endsWith('=changed'))).toEqual([]);
    expect(containerIds()).toEqual(before);
  });

  it('on a terminal, the CLI shows one live line per step with its status and duration, then the targets', async () => {
    const { 'ssh-key': key, ...rest } = sandboxInputs(s);
    const r = await runCliOnTerminal(['deploy', ...Object.entries(rest).flatMap(([k, v]) => [`--${k}`, v])], {
      MONITORING_DEPLOY_SSH_KEY: key,
    });
    expect(r.code).toBe(0);
    // The running step was redrawn in place (a clock), not printed as a new line each time.
    expect(r.stdout).toContain('\r\x1b[2K');
    const shown = screen(r.stdout);
    const stepLines = shown.filter((l) => /^[✓✗] /.test(l));
    expect(stepLines.map((l) => l.slice(2, 30).trim())).toEqual([
      'Lint stack',
      'Connect',
      'Preflight',
      'Lock',
      'Disk budget',
      'Swap',
      'Network',
      'Directories',
      'Upload',
      'Grafana dashboards',
      'Stacks',
      'Health gate',
    ]);
    expect(shown.find((l) => l.startsWith('✓ Upload'))).toMatch(/^✓ Upload\s+unchanged\s+\d+(ms|\.\d+s)\s+release /);
    // Every live (spinner) line was replaced by its final line.
    expect(shown.some((l) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(l))).toBe(false);
    const table = shown.slice(shown.findIndex((l) => l.startsWith('JOB')));
    expect(table[0]).toMatch(/^JOB\s+INSTANCE\s+HEALTH/);
    expect(table.filter((l) => /\sup(\s|$)/.test(l)).map((l) => l.split(/\s+/)[0])).toEqual(
      expect.arrayContaining(['app', 'node', 'prometheus']),
    );
  });

  it('imports grafana.com dashboards on the host, datasource inputs bound to our uids', async () => {
    // A local HTTP server stands in for grafana.com; the host downloads from it.
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const id = /^\/api\/dashboards\/(\d+)\/revisions\/latest\/download$/.exec(req.url ?? '')?.[1];
      if (!id || id === '404') {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          __inputs: [
            { name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' },
            { name: 'VAR_JOB', type: 'constant', value: 'app' },
          ],
          __requires: [{ type: 'datasource', id: 'prometheus' }],
          id: 42,
          uid: `gc-${id}`,
          title: `grafana.com ${id}`,
          panels: [
            {
              datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' },
              targets: [{ expr: 'up{job="${VAR_JOB}"}' }],
            },
          ],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await deployWithCli(sandboxInputs(s, { 'grafana-dashboards': '1860,19004,404' }), {
        MONITORING_DEPLOY_GRAFANA_COM_URL: url,
      });
      expect(r.code).toBe(0);
      expect(requests.sort()).toEqual([
        '/api/dashboards/1860/revisions/latest/download',
        '/api/dashboards/19004/revisions/latest/download',
        '/api/dashboards/404/revisions/latest/download',
      ]);
      expect(r.stderr).toMatch(/warning: grafana.com dashboard 404 could not be downloaded on the host/);
      const file = `${s.home}/monitoring/data/grafana-com-dashboards/1860.json`;
      const bound = JSON.parse(sh(`cat ${file}`));
      expect(bound.panels[0].datasource.uid).toBe('prometheus');
      expect(bound.panels[0].targets[0].expr).toBe('up{job="app"}');
      expect(bound.id).toBeNull();
      expect(bound.__inputs).toBeUndefined();
      // present: not downloaded again; dropped from the list: removed
      requests.length = 0;
      const again = await deployWithCli(sandboxInputs(s, { 'grafana-dashboards': '1860' }), {
        MONITORING_DEPLOY_GRAFANA_COM_URL: url,
      });
      expect(again.code).toBe(0);
      expect(requests).toEqual([]);
      expect(sh(`ls ${s.home}/monitoring/data/grafana-com-dashboards`)).toBe('1860.json');
    } finally {
      server.close();
    }
  });

  it('changing only prometheus-dev.yml restarts only Prometheus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-stack-'));
    cpSync(BUNDLED, dir, { recursive: true });
    const p = join(dir, 'prometheus-dev.yml');
    writeFileSync(p, readFileSync(p, 'utf8').replace('scrape_interval: 15s', 'scrape_interval: 10s'));
    const before = containerIds();
    const r = await deployWithCli(sandboxInputs(s, { 'stack-dir': dir }));
    expect(r.stderr).toContain('Upload: changed');
    expect(r.code).toBe(0);
    expect(r.json.restarted).toEqual(['prometheus']);
    expect(containerIds()).toEqual(before); // restarted in place, not recreated
    expect(sh(`grep scrape_interval ${s.home}/monitoring/prometheus-dev.yml | head -1`)).toContain('10s');
    expect(
      sh("docker inspect -f '{{.State.StartedAt}}' prometheus") > sh("docker inspect -f '{{.State.StartedAt}}' loki"),
    ).toBe(true);
    // and back to the bundled stack: again only Prometheus
    const back = await deployWithCli(sandboxInputs(s));
    expect(back.json.restarted).toEqual(['prometheus']);
  });

  it('a wrong host fingerprint fails before the host changes', async () => {
    // Inputs that would change a lot: another network, more swap, another remote dir.
    const before = hostSnapshot(s);
    const r = await deployWithAction(
      sandboxInputs(s, {
        'host-fingerprint': `SHA256:${'B'.repeat(43)}`,
        network: 'other-net',
        'swap-size': '512M',
        'remote-dir': '~/elsewhere',
      }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Host key mismatch');
    expect(r.stdout).toContain(s.fingerprint);
    expect(hostSnapshot(s)).toEqual(before);
    expect(sh(`ls ${s.home}`)).not.toContain('elsewhere');
    expect(r.summary).toMatch(/\| Connect \| 🔴 failed \|/);
  });

  it('two deploys started together: one waits for the lock, both end green', async () => {
    const [a, b] = await Promise.all([deployWithCli(sandboxInputs(s)), deployWithCli(sandboxInputs(s))]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const waited = [a, b].filter((r) => r.stderr.includes('another deploy holds the lock'));
    expect(waited).toHaveLength(1);
    expect(waited[0]?.stderr).toMatch(/another deploy holds the lock: .*monitoring-deploy CLI, started 20\d\d-/);
    expect([a.json.release, b.json.release]).toEqual([a.json.release, a.json.release]);
  });
});
