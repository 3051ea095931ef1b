// The app stand-in (test/sandbox/images/app) answers its metrics path as Micrometer's Prometheus
// registry would: the HTTP server Timer is a histogram with _bucket series only when the variable
// Spring Boot binds to management.metrics.distribution.percentiles-histogram.http.server.requests
// is true (the bundled docker-compose-dev.yml sets it), else a summary; promtool accepts both.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROMTOOL, requireProgram } from '../helpers/machine';

const IMAGE = resolve(__dirname, '../sandbox/images');
const HISTOGRAM_VAR = 'MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILESHISTOGRAM_HTTP_SERVER_REQUESTS';

/** The handler's answer to one scrape, run by sh as the image's busybox nc would run it. */
function scrape(env: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-app-standin-'));
  const handler = readFileSync(join(IMAGE, 'app/app-handler.sh'), 'utf8').replace(
    '. /standin/http.sh',
    `. ${join(IMAGE, 'standin-lib/http.sh')}`,
  );
  writeFileSync(join(dir, 'handler.sh'), handler);
  const answer = execFileSync('sh', [join(dir, 'handler.sh')], {
    input: 'GET /myendpoint/prometheus HTTP/1.1\r\nHost: server\r\n\r\n',
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      METRICS_PORT: '19021',
      SERVED_PORT: '19021',
      METRICS_PATH: '/myendpoint/prometheus',
      STARTED_AT: String(Math.floor(Date.now() / 1000) - 120),
      ...env,
    },
  });
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  // promtool check metrics exits non-zero on a malformed exposition (lint findings too).
  execFileSync(requireProgram(PROMTOOL), ['check', 'metrics'], { input: body, encoding: 'utf8' });
  return body;
}

const series = (body: string, name: string) => body.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('app stand-in metrics', () => {
  it('histogram on: _bucket per Micrometer bound from 1 ms to 30 s and +Inf, _count, _sum and _max', () => {
    const body = scrape({ [HISTOGRAM_VAR]: 'true' });
    expect(body).toContain('# TYPE http_server_requests_seconds histogram');
    const les = series(body, 'http_server_requests_seconds_bucket').map((l) => /le="([^"]+)"/.exec(l)?.[1]);
    expect(les).toHaveLength(69);
    expect(les.slice(0, 4)).toEqual(['0.001', '0.001048576', '0.001398101', '0.001747626']);
    expect(les.slice(-3)).toEqual(['28.633115306', '30.0', '+Inf']);
    expect(series(body, 'http_server_requests_seconds_count')).toHaveLength(1);
    expect(series(body, 'http_server_requests_seconds_sum')).toHaveLength(1);
    expect(series(body, 'http_server_requests_seconds_max')).toHaveLength(1);
  });

  it('histogram off (no variable, or not true): a summary with no _bucket, as Micrometer without it', () => {
    for (const env of [{}, { [HISTOGRAM_VAR]: 'false' }] as Record<string, string>[]) {
      const body = scrape(env);
      expect(body).toContain('# TYPE http_server_requests_seconds summary');
      expect(series(body, 'http_server_requests_seconds_bucket')).toEqual([]);
      expect(series(body, 'http_server_requests_seconds_count')).toHaveLength(1);
    }
  });

  it('the bundled app service sets the variable to true', () => {
    const compose = parse(readFileSync(resolve(__dirname, '../../compose/docker-compose-dev.yml'), 'utf8'));
    expect(compose.services.server.environment).toContain(`${HISTOGRAM_VAR}=true`);
  });
});
