// Every container's log is rotated (json-file, 10m x 3): every service of every bundled compose
// file says so, and both Compose versions accept the files as a deploy renders them (Compose v2
// plugin `docker compose config`, Compose v1 `docker-compose config` with the version line the
// deploy adds for it). `config` starts nothing.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMPOSE_FILES, type StackKey } from '../../src/model/layout';
import { readSettings } from '../../src/settings/settings';
import { renderForHost } from '../../src/stack/plan';
import { COMPOSE_V1, COMPOSE_V2, type ProgramSpec, requireProgram } from '../helpers/machine';
import { writeStack } from '../helpers/stack-dir';

const ROTATED = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } };
type Services = Record<string, { logging?: unknown }>;

/** The services whose logging is not the rotation (as YAML gives it: anchors resolved). */
const unrotated = (services: Services) =>
  Object.entries(services)
    .filter(([, s]) => !isDeepStrictEqual(s.logging, ROTATED))
    .map(([name, s]) => `${name}: ${JSON.stringify(s.logging)}`);

const dir = resolve(__dirname, '../../compose');
const composeFiles = readdirSync(dir).filter((f) => /^docker-compose.*\.yml$/.test(f));

describe('container log rotation', () => {
  it('every service of every bundled compose file, its options strings', () => {
    expect(composeFiles.sort()).toEqual(Object.values(COMPOSE_FILES).sort());
    for (const f of composeFiles) {
      const services = parse(readFileSync(join(dir, f), 'utf8')).services as Services;
      expect(unrotated(services), f).toEqual([]);
    }
  });

  it('the check can fail: a service without it is named', () => {
    expect(
      unrotated({ a: { logging: ROTATED }, b: {}, c: { logging: { ...ROTATED, options: { 'max-file': 3 } } } }),
    ).toEqual(['b: undefined', 'c: {"driver":"json-file","options":{"max-file":3}}']);
  });

  const host = { uid: 1000, gid: 1000, home: '/home/ec2-user' };
  const stacks: [string, Record<string, string>, StackKey[]][] = [
    ['central host', { 'app-image': 'me/back:1.4.2' }, ['app', 'monitoring']],
    [
      'agent host',
      {
        'app-image': 'me/back:1.4.2',
        role: 'agent',
        'remote-write-url': 'https://c:9095/api/v1/write',
        'loki-push-url': 'https://c:9095/loki/api/v1/push',
      },
      ['app', 'agent'],
    ],
  ];
  // Each the program of its version: a docker-compose on the PATH may be a v2 binary, and
  // `docker compose` a plugin of any version the machine has.
  const compose: [string, ProgramSpec, string[]][] = [
    ['Compose v2', COMPOSE_V2, ['compose']],
    ['Compose v1', COMPOSE_V1, []],
  ];
  for (const [version, program, command] of compose) {
    for (const [what, raw, keys] of stacks) {
      it(`${version} accepts the ${what}'s files and rotates every service's log, every profile on`, () => {
        const settings = readSettings(raw, { needsConnection: false });
        const { rendered } = renderForHost(settings, host, { composeV1: version === 'Compose v1' });
        const at = writeStack(rendered.files);
        for (const key of keys) {
          const args = [...command, '-p', `md-${key}`, '-f', COMPOSE_FILES[key]];
          for (const p of ['promtail', 'alloy', 'receiver']) args.push('--profile', p);
          const out = execFileSync(requireProgram(program), [...args, 'config'], {
            cwd: at,
            encoding: 'utf8',
            stdio: 'pipe',
          });
          const services = parse(out).services as Services;
          expect(Object.keys(services).length, `${key}: services`).toBeGreaterThanOrEqual(2);
          expect(unrotated(services), `${version} ${key}`).toEqual([]);
        }
        // Compose v1 is Python: a few seconds per file on a busy machine.
      }, 60_000);
    }
  }
});
