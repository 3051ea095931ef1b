// The committed bundles start and fail or help as users would see.
import { describe, expect, it } from 'vitest';
import { runAction, runCli } from '../helpers/dist';

describe('dist entry points', () => {
  it('dist/index.js with no inputs exits 1 naming the missing required inputs', async () => {
    const r = await runAction({});
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::');
    expect(r.stdout).toContain('missing required inputs: host, username, ssh-key');
  });

  it('dist/index.js reads INPUT_* variables and reports every bad one', async () => {
    const r = await runAction({
      INPUT_HOST: 'h',
      INPUT_USERNAME: 'u',
      INPUT_SSH_KEY: 'ssh-ed25519 AAAA',
      INPUT_PORT: 'x',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('port: \\"x\\" is not a port'.replace(/\\"/g, '"'));
    expect(r.stdout).toContain('not a private key');
  });

  it('dist/cli.js --help prints usage with every command and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: monitoring-deploy <command>/);
    for (const c of ['preflight', 'exec', 'fetch', '--host-fingerprint', '--ssh-key-file'])
      expect(r.stdout).toContain(c);
  });

  it('each command has its own --help', async () => {
    const r = await runCli(['plan', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: monitoring-deploy plan \[flags\]\n\nRender the stack/);
    expect(r.stdout).toContain('--app-image');
    expect(r.stdout).not.toContain('--host-fingerprint');
    const d = await runCli(['deploy', '--help']);
    expect(d.stdout).toContain('--host-fingerprint');
    expect(d.stdout).toContain('--rollback');
  });

  it('dist/cli.js with an unknown command exits 2 with usage on stderr', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown command "frobnicate"');
  });
});
