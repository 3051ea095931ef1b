// The gate's judgements, which are what the product promises: a target counts only when up and
// scraped since the deploy, and each probe's answer is read as its service means it.

import { describe, expect, it } from 'vitest';
import { checkTitle, PROBES, probesFor, probesMarkdown, titles } from '../../src/health/probes';
import {
  type Freshness,
  freshnessAfter,
  parseTargets,
  type TargetState,
  targetProblem,
  targetService,
  targetsCheck,
} from '../../src/health/targets';
import { composeFailure, parseUp } from '../../src/stack/compose';

// As Prometheus 3 answers /api/v1/targets?state=active (fields the gate reads, and some it does not).
const TARGETS = JSON.stringify({
  status: 'success',
  data: {
    activeTargets: [
      {
        discoveredLabels: { __address__: 'server:19021' },
        labels: { instance: 'server:19021', job: 'app', host: 'dev' },
        scrapePool: 'app',
        scrapeUrl: 'http://server:19021/myendpoint/prometheus',
        globalUrl: 'http://server:19021/myendpoint/prometheus',
        lastError: 'server returned HTTP status 404 Not Found',
        lastScrape: '2026-11-25T10:00:05.123456789Z',
        lastScrapeDuration: 0.002,
        health: 'down',
        scrapeInterval: '15s',
        scrapeTimeout: '10s',
      },
      {
        labels: { instance: 'node-exporter:9100', job: 'node' },
        scrapePool: 'node',
        scrapeUrl: 'http://node-exporter:9100/metrics',
        lastError: '',
        lastScrape: '2026-11-25T10:00:07.5Z',
        health: 'up',
      },
    ],
    droppedTargets: [],
  },
});

const since = Date.parse('2026-11-25T10:00:06Z') / 1000;

describe('parseTargets', () => {
  it('reads job, instance, health, error, last scrape and URL of each active target', () => {
    expect(parseTargets(TARGETS)).toEqual([
      {
        job: 'app',
        instance: 'server:19021',
        health: 'down',
        lastError: 'server returned HTTP status 404 Not Found',
        lastScrape: '2026-11-25T10:00:05.123456789Z',
        scrapeUrl: 'http://server:19021/myendpoint/prometheus',
        scrapeIntervalMs: 15_000,
      },
      {
        job: 'node',
        instance: 'node-exporter:9100',
        health: 'up',
        lastError: '',
        lastScrape: '2026-11-25T10:00:07.5Z',
        scrapeUrl: 'http://node-exporter:9100/metrics',
        scrapeIntervalMs: undefined,
      },
    ]);
  });

  it('has no targets for an answer without any', () => {
    expect(parseTargets('{"status":"success","data":{"activeTargets":[]}}')).toEqual([]);
  });
});

describe('targetProblem', () => {
  const [down, up] = parseTargets(TARGETS) as [TargetState, TargetState];
  const all: Freshness = { sinceEpochSec: since, restarted: 'all' };
  const none: Freshness = { sinceEpochSec: since, restarted: [] };
  const now = Date.parse('2026-11-25T10:00:20Z');
  it('reads the scrape interval each target reports', () => {
    expect(up.scrapeIntervalMs).toBeUndefined();
    expect(down.scrapeIntervalMs).toBe(15_000);
    expect(targetService(down)).toBe('server');
    expect(targetService({ ...up, instance: 'localhost:9090' })).toBe('prometheus');
  });
  it('names a down target with its lastError, whatever else', () => {
    expect(targetProblem(down, all)).toBe('down: server returned HTTP status 404 Not Found');
    expect(targetProblem(down, none, now)).toBe('down: server returned HTTP status 404 Not Found');
  });
  it('a restarted target counts only with a scrape newer than the run (nanosecond timestamps too)', () => {
    expect(targetProblem(up, all)).toBeUndefined();
    expect(targetProblem(up, { sinceEpochSec: since + 2, restarted: 'all' })).toBe(
      'up, but not yet scraped since this deploy started',
    );
    expect(targetProblem({ ...up, lastScrape: '0001-01-01T00:00:00Z' }, all)).toMatch(/not yet scraped/);
    // Only its own service's restart asks for it: node-exporter restarted, the node target waits.
    expect(targetProblem(up, { sinceEpochSec: since + 2, restarted: ['node-exporter'] })).toMatch(/not yet scraped/);
    expect(targetProblem(up, { sinceEpochSec: since + 2, restarted: ['server'] }, now)).toBeUndefined();
  });
  it('a target nothing restarted is judged on its current state: scraped within two intervals', () => {
    expect(targetProblem(up, none, now)).toBeUndefined();
    const stuck = { ...up, lastScrape: '2026-11-25T09:59:20Z', scrapeIntervalMs: 15_000 };
    expect(targetProblem(stuck, none, now)).toBe('up, but last scraped 60s ago (more than two scrape intervals)');
    expect(targetProblem(stuck, none, Date.parse('2026-11-25T09:59:50Z'))).toBeUndefined();
  });
  it('after Prometheus restarted, every target needs a fresh scrape', () => {
    expect(freshnessAfter(since, ['prometheus', 'grafana']).restarted).toBe('all');
    expect(freshnessAfter(since, ['grafana']).restarted).toEqual(['grafana']);
  });
  it('targetsCheck is ok only when every target passes, and never with none', () => {
    const targets = parseTargets(TARGETS);
    expect(targetsCheck(targets, all, 'prometheus')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('app server:19021 down'),
    });
    expect(targetsCheck(targets.slice(1), all, 'prometheus')).toMatchObject({ ok: true, detail: '1 up' });
    expect(targetsCheck([], all, 'prometheus')).toMatchObject({
      ok: false,
      detail: 'Prometheus has no active targets',
    });
  });
});

describe('the probe table', () => {
  const judge = (service: string, status: number, body: string) =>
    PROBES.find((p) => p.service === service)?.judge(status, body);

  it('Prometheus, Promtail and Alloy are ready on 200 only', () => {
    for (const s of ['prometheus', 'promtail', 'alloy']) {
      expect(judge(s, 200, 'Ready.')).toBeUndefined();
      expect(judge(s, 503, 'Service Unavailable\nmore')).toMatch(/answered 503 Service Unavailable$/);
    }
  });

  it('Loki is ready only when it says so', () => {
    expect(judge('loki', 200, 'ready\n')).toBeUndefined();
    expect(judge('loki', 503, 'Ingester not ready: waiting for 15s after being ready')).toBe(
      '/ready answered 503 Ingester not ready: waiting for 15s after being ready',
    );
    expect(judge('loki', 200, 'not ready')).toMatch(/answered 200 not ready/);
  });

  it('Grafana is healthy when its database is ok', () => {
    expect(judge('grafana', 200, '{"database":"ok","version":"12.3.1"}')).toBeUndefined();
    expect(judge('grafana', 200, '{"database":"failing"}')).toBe('database {"database":"failing"}');
    expect(judge('grafana', 503, 'starting')).toBe('/api/health answered 503 starting');
    expect(judge('grafana', 200, '<html>')).toBe('/api/health is not JSON: <html>');
  });

  it('picks the probes of a role and log agent', () => {
    expect(probesFor('monitoring', 'promtail').map((p) => p.service)).toEqual([
      'prometheus',
      'loki',
      'grafana',
      'promtail',
    ]);
    expect(probesFor('monitoring', 'alloy').map((p) => p.service)).toEqual(['prometheus', 'loki', 'grafana', 'alloy']);
    expect(probesFor('agent', 'promtail').map((p) => p.service)).toEqual(['prometheus', 'promtail']);
    expect(titles(probesFor('agent', 'promtail'))).toBe('Prometheus and Promtail');
    expect(checkTitle('loki')).toBe('Loki');
    expect(checkTitle('targets')).toBeUndefined();
  });

  it('is the table the README shows', () => {
    expect(probesMarkdown()).toContain('| Loki | `loki:3100/ready` | 200 `ready` | monitoring |');
  });
});

describe('parseUp', () => {
  it('counts created, recreated and restarted services of our projects only', () => {
    const out = [
      '@before md-app server aaa',
      '@before md-app nginx bbb',
      '@before md-monitoring loki ccc',
      '@before someone-else web zzz',
      'Container server  Recreated',
      '@restarted md-app nginx',
      '@after md-app server aab',
      '@after md-app nginx bbb',
      '@after md-monitoring loki ccc',
      '@after md-monitoring promtail ddd',
      '@after someone-else web zzy',
    ].join('\n');
    expect(parseUp(out).restarted).toEqual(['server', 'promtail', 'nginx']);
    expect(parseUp(`${out}\n@removed md-monitoring alloy`).removed).toEqual(['alloy']);
  });
});

describe('composeFailure', () => {
  const failed = (stdout: string, stderr = '') => composeFailure({ stdout, stderr, code: 3 });
  it('names an image its registry does not have, with the fix', () => {
    const e = failed(
      'Error response from daemon: pull access denied for sandbox/nope, repository does not exist\n@failed app starting',
    );
    expect(e?.message).toMatch(
      /^The image sandbox\/nope could not be pulled: its registry has no such image, or wants a login, while starting the app stack:\nError response/,
    );
    expect(e?.message).toContain('Fix: check the image name and tag');
  });
  it('a host that reaches no registry: the image and service named, and the three ways out', () => {
    // What Compose 2.26 prints when the registry's name does not resolve on the host.
    const out = [
      ' nginx Pulling ',
      ' nginx Error failed to resolve reference "docker.io/library/nginx:1.30.4-alpine": failed to do request: Head "https://r.example/v2/library/nginx/manifests/1.30.4-alpine": dial tcp: lookup r.example on 127.0.0.11:53: no such host',
      'Error response from daemon: Get "https://r.example/v2/": dial tcp: lookup r.example: no such host',
      '@failed app starting',
    ].join('\n');
    const e = composeFailure(
      { stdout: out, stderr: '', code: 3 },
      { nginx: 'nginx:1.30.4-alpine', server: 'me/back:1' },
    );
    expect(e?.message).toMatch(
      /^The image nginx:1\.30\.4-alpine \(service nginx\) could not be pulled: the host cannot reach its registry \(the registry's name does not resolve there\), while starting the app stack/,
    );
    expect(e?.message).toMatch(/Fix: give the host access to the registry .*registry mirror.*pull: never\.$/);
  });
  it('an image not on the host with pull: never', () => {
    // Docker 20.10's words, as Compose 2.26 passes them on: the name is followed by a colon.
    const e = failed(
      ' Container grafana  Recreate\nError response from daemon: no such image: sandbox/does-not-exist:1: No such image: sandbox/does-not-exist:1\n@failed monitoring starting',
    );
    expect(e?.message).toMatch(
      /^The image sandbox\/does-not-exist:1 is not on the host, and pull: never forbids pulling it, while starting the monitoring stack/,
    );
  });
  it('names a host port already in use', () => {
    const e = failed(
      'Error starting userland proxy: listen tcp4 0.0.0.0:3000: bind: address already in use\n@failed monitoring starting',
    );
    expect(e?.message).toMatch(/^A host port is already in use \(3000\) while starting the monitoring stack/);
  });
  it('leaves a failure without a marker to the default error', () => {
    expect(failed('something else')).toBeUndefined();
  });
});
