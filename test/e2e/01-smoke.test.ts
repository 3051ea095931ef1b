// Smoke test of the sandbox host through the built CLI: a real sshd, a real Docker engine.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/dist';
import { connectionFlags, docker, keyEnv, loadSandbox, type Sandbox } from '../helpers/sandbox';

let sandbox: Sandbox;
const CONTAINER = 'md-smoke-app';

beforeAll(() => {
  sandbox = loadSandbox();
});
afterAll(() => {
  try {
    docker('rm', '-f', CONTAINER);
  } catch {}
});

describe('sandbox smoke (dist/cli.js)', () => {
  it('connects as the login user and checks the host key against the printed fingerprint', async () => {
    const r = await runCli(['preflight', '--json', ...connectionFlags(sandbox)], keyEnv(sandbox));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.hostKey).toMatchObject({ accepted: true, fingerprint: sandbox.fingerprint, keyType: 'ssh-ed25519' });
    expect(out.facts.home).toBe(sandbox.home);
    expect(out.facts.uid).not.toBe(0);
    expect(out.facts.dockerAccess).toBe('direct');
    expect(out.problems).toEqual([]);
  });

  it('runs docker compose version on the host', async () => {
    const r = await runCli(
      ['exec', ...connectionFlags(sandbox), '--', 'id -un; docker compose version'],
      keyEnv(sandbox),
    );
    expect(r.code).toBe(0);
    const [user, compose] = r.stdout.trim().split('\n');
    expect(user).toBe(sandbox.user);
    expect(compose).toMatch(/^Docker Compose version v?2\.\d+/);
  });

  it('starts a sandbox image and reaches it through the SSH tunnel, with no published port', async () => {
    const image = /^server=(.+)$/m.exec(sandbox.images)?.[1];
    expect(image).toBe('sandbox/app-standin:1');
    const started = await runCli(
      ['exec', ...connectionFlags(sandbox), '--', `docker run -d --name ${CONTAINER} --pull never ${image}`],
      keyEnv(sandbox),
    );
    expect(started.code).toBe(0);
    expect(docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', CONTAINER)).not.toContain('HostPort');

    let fetched = await runCli(
      ['fetch', ...connectionFlags(sandbox), `${CONTAINER}:19021/myendpoint/prometheus`],
      keyEnv(sandbox),
    );
    for (let i = 0; i < 20 && fetched.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      fetched = await runCli(
        ['fetch', ...connectionFlags(sandbox), `${CONTAINER}:19021/myendpoint/prometheus`],
        keyEnv(sandbox),
      );
    }
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toContain('HTTP 200 text/plain;version=0.0.4');
    expect(fetched.stdout).toMatch(/^jvm_memory_used_bytes\{area="heap"/m);

    // The management path exists only on the management port, as with Actuator.
    const wrongPort = await runCli(
      ['fetch', ...connectionFlags(sandbox), `${CONTAINER}:8080/myendpoint/prometheus`],
      keyEnv(sandbox),
    );
    expect(wrongPort.code).toBe(1);
    expect(wrongPort.stdout).toContain('HTTP 404');
  });

  it('refuses a wrong host fingerprint, naming the one it saw', async () => {
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const flags = connectionFlags(sandbox).map((f) => (f === sandbox.fingerprint ? wrong : f));
    const r = await runCli(['exec', ...flags, '--', 'touch /tmp/md-should-not-exist'], keyEnv(sandbox));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Host key mismatch');
    expect(r.stderr).toContain(sandbox.fingerprint);
    expect(r.stderr).toContain('ssh-keyscan');
    expect(existsSync('/tmp/md-should-not-exist')).toBe(false);
  });
});
