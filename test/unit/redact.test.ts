// Secrets never leave the process: redacted in every string of a value before it is serialised
// (redacting the JSON text misses a secret JSON escapes, one with a " or a \), in every --json
// output of the CLI.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactDeep, redactor } from '../../src/report/log';
import { runCli } from '../helpers/dist';

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
