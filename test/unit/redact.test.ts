// Secrets never leave the process: redacted in every string of a value before it is serialised
// (redacting the JSON text misses a secret JSON escapes, one with a " or a \), in every --json
// output of the CLI and every output of the action.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactDeep, redactor } from '../../src/base/log';
import { runAction, runCli } from '../helpers/dist';

const SECRET = 'pa"ss\\wo';
/** The secret in every form it could leave in: as it is and as JSON escapes it. */
const leaks = (text: string) => text.includes(SECRET) || text.includes(JSON.stringify(SECRET).slice(1, -1));

describe('redactDeep', () => {
  it('replaces a secret with " and \\ in every string of a nested value, keys too', () => {
    const value = {
      ok: false,
      error: `login failed for admin:${SECRET}`,
      steps: [{ name: 'Connect', detail: `pw ${SECRET} pw` }, 7, null, true],
      nested: { [`key-${SECRET}`]: [[`deep ${SECRET}`]] },
      when: new Date(0),
    };
    const redact = redactor([SECRET]);
    // Redacting the JSON text misses it: JSON wrote the secret escaped.
    expect(leaks(redact(JSON.stringify(value)))).toBe(true);
    const json = JSON.stringify(redactDeep(value, redact));
    expect(leaks(json)).toBe(false);
    expect(JSON.parse(json)).toEqual({
      ok: false,
      error: 'login failed for admin:***',
      steps: [{ name: 'Connect', detail: 'pw *** pw' }, 7, null, true],
      nested: { 'key-***': [['deep ***']] },
      when: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('the CLI never prints a secret', () => {
  /** The bundled stack, with the app setting only the old profile variable, to the secret's value. */
  function stackQuotingTheSecret(): string {
    const dir = join(mkdtempSync(join(tmpdir(), 'md-redact-')), 'stack');
    cpSync(resolve(__dirname, '../../compose'), dir, { recursive: true });
    const compose = join(dir, 'docker-compose-dev.yml');
    const text = readFileSync(compose, 'utf8')
      .replace(/^\s*- SPRING_PROFILES_ACTIVE=dev\n/m, '')
      .replace('ACTIVE_SPRING_PROFILE=dev', `ACTIVE_SPRING_PROFILE=${SECRET}`);
    writeFileSync(compose, text);
    return dir;
  }

  it('plan, with and without --json: a lint finding that quotes a secret shows *** instead', async () => {
    const stack = stackQuotingTheSecret();
    const flags = ['--stack-dir', stack, '--app-image', 'me/back:1.4.2', '--grafana-admin-password', SECRET];
    const json = await runCli(['plan', '--json', ...flags]);
    expect(json.stdout).toContain('spring-profile-env');
    expect(json.stdout).toContain('SPRING_PROFILES_ACTIVE=***');
    expect(leaks(json.stdout + json.stderr)).toBe(false);
    const text = await runCli(['plan', ...flags]);
    expect(text.stdout).toContain('SPRING_PROFILES_ACTIVE=***');
    expect(leaks(text.stdout + text.stderr)).toBe(false);
  });
});

describe('the action never sets an output with a secret in it', () => {
  /** The action's outputs, read back from the GITHUB_OUTPUT file as the runner does. */
  function outputs(file: string): Record<string, string> {
    const text = readFileSync(file, 'utf8');
    return Object.fromEntries(
      [...text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1] ?? '', m[3] ?? '']),
    );
  }

  it('hosts, problems and every other output are redacted (a host named like a secret)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-outputs-'));
    const out = join(dir, 'output');
    writeFileSync(out, '');
    const secret = 'dev-secret-7';
    const r = await runAction({
      GITHUB_OUTPUT: out,
      INPUT_USERNAME: 'ec2-user',
      'INPUT_SSH-KEY':
        '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      'INPUT_INSECURE-SKIP-HOST-KEY-CHECK': 'true',
      'INPUT_APP-IMAGE': 'me/back:1.4.2',
      'INPUT_CONNECT-TIMEOUT': '2s',
      INPUT_HOSTS: `name=${secret} role=monitoring host=127.0.0.1 port=9`,
      'INPUT_GRAFANA-ADMIN-PASSWORD': secret,
    });
    expect(r.code).toBe(1);
    const o = outputs(out);
    expect(JSON.parse(o.hosts ?? '[]')).toMatchObject([{ name: '***', role: 'monitoring', ok: false }]);
    expect(JSON.parse(o.problems ?? '[]')[0]).toMatch(/^\*\*\*: /);
    expect(readFileSync(out, 'utf8')).not.toContain(secret);
  });
});
