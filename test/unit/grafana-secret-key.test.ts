// Grafana's secret key (the key that encrypts the secrets in its database): generated once per
// host next to the admin password, never replaced, never removed by an upload, and handed to
// Grafana as GF_SECURITY_SECRET_KEY__FILE (the image's run.sh reads every GF_*__FILE).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { invocation } from '../../src/connection/shell';
import { dirsWanted, keptOnHost } from '../../src/engine/host-state';
import { dirsScript, dirsState } from '../../src/host/dirs';
import { remoteLayout, SECRET_FILES } from '../../src/model/layout';
import { readSettings } from '../../src/settings/settings';
import { renderForHost } from '../../src/stack/plan';
import { planUpload } from '../../src/stack/upload';
import { privateTempDir } from '../helpers/private-tmp';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----';
const settings = (more: Record<string, string> = {}) =>
  readSettings({ host: 'h', username: 'ec2-user', 'ssh-key': KEY, 'app-image': 'me/back:1.4.2', ...more });

function sh(script: string): string {
  const { command, stdin } = invocation(script);
  return execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
}

describe("Grafana's secret key", () => {
  it('reaches Grafana through GF_SECURITY_SECRET_KEY__FILE, from the read-only secrets mount', () => {
    const { rendered } = renderForHost(settings(), { uid: 1000, gid: 1000, home: '/home/ec2-user' });
    const file = rendered.files.find((f) => f.path === 'docker-compose-dev-monitoring.yml');
    const grafana = parse(file?.content.toString() ?? '').services.grafana;
    expect(grafana.environment).toContain('GF_SECURITY_SECRET_KEY__FILE=/etc/grafana/secrets/grafana_secret_key');
    // run.sh exits when both the variable and its __FILE are set.
    expect(grafana.environment.filter((e: string) => e.startsWith('GF_SECURITY_SECRET_KEY='))).toEqual([]);
    expect(grafana.volumes).toContain('./secrets:/etc/grafana/secrets:ro');
    // Made on the host, never rendered: no deploy ever carries a key of its own.
    expect(rendered.files.map((f) => f.path)).not.toContain(SECRET_FILES.grafanaSecretKey);
  });

  it('is made once on the host, mode 600, and a second run keeps it', () => {
    const home = privateTempDir('md-key-');
    const w = dirsWanted({ settings: settings(), layout: remoteLayout('~/monitoring', home) });
    const key = join(w.layout.root, SECRET_FILES.grafanaSecretKey);
    expect(sh(dirsState(w))).toContain(`@missing ${key}`);
    expect(sh(dirsScript(w))).toContain(key);
    const first = readFileSync(key, 'utf8');
    expect(first).toMatch(/^[A-Za-z0-9]{40,}$/);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(sh(dirsState(w))).not.toContain('@missing');
    sh(dirsScript(w));
    expect(readFileSync(key, 'utf8')).toBe(first);
  });

  it('only for the monitoring stack', () => {
    const home = privateTempDir('md-key-');
    const layout = remoteLayout('~/monitoring', home);
    const agent = dirsWanted({
      settings: settings({
        role: 'agent',
        stacks: 'app,agent',
        'remote-write-url': 'https://10.0.0.1:9095/api/v1/write',
        'loki-push-url': 'https://10.0.0.1:9095/loki/api/v1/push',
      }),
      layout,
    });
    expect(dirsState(agent)).not.toContain('grafana_secret_key');
  });

  it('made for a Grafana database that already exists, it warns what the new key means', () => {
    const home = privateTempDir('md-key-');
    const w = dirsWanted({ settings: settings(), layout: remoteLayout('~/monitoring', home) });
    mkdirSync(join(w.layout.dataDir, 'grafana'), { recursive: true });
    writeFileSync(join(w.layout.dataDir, 'grafana', 'grafana.db'), 'SQLite format 3');
    expect(sh(dirsScript(w))).toContain('@secret-key-for-existing-db');
  });

  it('is never removed by an upload, even if a manifest once listed it', () => {
    const state = {
      managed: [SECRET_FILES.grafanaSecretKey],
      files: new Map([[SECRET_FILES.grafanaSecretKey, { sha256: 'x', mode: '600' }]]),
      saved: true,
    };
    expect(planUpload([], state, keptOnHost(settings())).removed).toEqual([]);
  });
});
