// The upload and rollback scripts, run by this machine's own POSIX sh in a scratch directory,
// exactly as the host runs them (through invocation()): paths with spaces stay one path, a
// name that is not a release id never reaches a script, a script cut off in transit runs nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import type { StackFile } from '../../src/model/files';
import { MANIFEST, RELEASE_FILE, RELEASES } from '../../src/model/layout';
import { assertReleaseId, parseRestore, restoreScript } from '../../src/stack/releases';
import {
  commitScript,
  manifestText,
  parseState,
  planUpload,
  releaseId,
  stagingScript,
  stateScript,
} from '../../src/stack/upload';

/** Runs a script as RemoteHost.run does, with this machine's sh; returns stdout. */
function sh(script: string): string {
  const { command, stdin } = invocation(script);
  return execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
}

const file = (path: string, content: string, mode = 0o644): StackFile => ({
  path,
  content: Buffer.from(content),
  mode,
});

function deploy(root: string, files: StackFile[]) {
  const state = parseState(
    sh(
      stateScript(
        root,
        files.map((f) => f.path),
      ),
    ),
  );
  const plan = planUpload(files, state);
  sh(stagingScript(root, plan, files));
  sh(commitScript(root, plan));
  return { state, plan };
}

describe('upload scripts on a real sh', () => {
  const spaced = 'grafana/my dashboards/host board.json';

  it('writes, reads back and removes files whose paths hold spaces', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'md-upload-')), 'monitoring');
    const first = [
      file('docker-compose-dev.yml', 'services: {}\n'),
      file(spaced, '{"v":1}'),
      file('.env', 'A=1\n', 0o600),
    ];
    const one = deploy(root, first);
    expect(one.plan.changed.map((f) => f.path).sort()).toEqual(first.map((f) => f.path).sort());
    expect(readFileSync(join(root, spaced), 'utf8')).toBe('{"v":1}');
    expect(statSync(join(root, '.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, MANIFEST), 'utf8')).toBe(manifestText(first));
    expect(readFileSync(join(root, RELEASE_FILE), 'utf8').trim()).toBe(releaseId(first));

    // Read back: the spaced path is one managed file, unchanged, with its checksum.
    const again = parseState(
      sh(
        stateScript(
          root,
          first.map((f) => f.path),
        ),
      ),
    );
    expect(again.managed).toContain(spaced);
    expect(planUpload(first, again)).toMatchObject({ changed: [], removed: [] });

    // Dropping it from the stack removes exactly that file, read from the manifest line by line.
    writeFileSync(join(root, 'grafana/my'), 'a file named like the first word, which must survive');
    const second = first.filter((f) => f.path !== spaced);
    const two = deploy(root, second);
    expect(two.plan.removed).toEqual([spaced]);
    expect(existsSync(join(root, spaced))).toBe(false);
    expect(readFileSync(join(root, 'grafana/my'), 'utf8')).toContain('must survive');
  });

  it('rolls back a release whose files have spaces in their paths', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'md-restore-')), 'monitoring');
    const first = [file('docker-compose-dev.yml', 'services: {}\n'), file(spaced, '{"v":1}')];
    deploy(root, first);
    deploy(root, [file('docker-compose-dev.yml', 'services: {}\n'), file(spaced, '{"v":2}')]);
    const restored = parseRestore(releaseId(first), sh(`cd '${root}'\n${restoreScript(releaseId(first))}`), ['app']);
    expect(restored.changedPaths).toEqual([spaced]);
    expect(restored.hostNowSec).toBeGreaterThan(1_700_000_000);
    expect(restored.stack.composeFiles.app).toEqual(['docker-compose-dev.yml']);
    expect(readFileSync(join(root, spaced), 'utf8')).toBe('{"v":1}');
    expect(readFileSync(join(root, RELEASE_FILE), 'utf8').trim()).toBe(releaseId(first));
  });

  it("rolling back to a release without Grafana's password and key files keeps them, and says when the password changed", () => {
    const root = join(mkdtempSync(join(tmpdir(), 'md-restore-')), 'monitoring');
    const compose = file('docker-compose-dev.yml', 'services: {}\n');
    // The first release ran with a password generated on the host (not in its manifest).
    const first = [compose, file('a.yml', 'a: 1\n')];
    deploy(root, first);
    const password = file('secrets/grafana_admin_password', 'given-Pw-1', 0o600);
    const key = file('secrets/grafana_secret_key', 'k'.repeat(32), 0o600);
    deploy(root, [compose, file('a.yml', 'a: 2\n'), password, key]);
    const restored = parseRestore(releaseId(first), sh(`cd '${root}'\n${restoreScript(releaseId(first))}`), ['app']);
    expect(restored.changedPaths).toEqual(['a.yml']);
    expect(readFileSync(join(root, 'secrets/grafana_admin_password'), 'utf8')).toBe('given-Pw-1');
    expect(readFileSync(join(root, 'secrets/grafana_secret_key'), 'utf8')).toBe('k'.repeat(32));

    // A release that had another password puts it back, and names the file as changed.
    const third = [compose, file('a.yml', 'a: 3\n'), file('secrets/grafana_admin_password', 'given-Pw-2', 0o600)];
    deploy(root, third);
    deploy(root, [compose, file('a.yml', 'a: 4\n'), password]);
    const back = parseRestore(releaseId(third), sh(`cd '${root}'\n${restoreScript(releaseId(third))}`), ['app']);
    expect([...back.changedPaths].sort()).toEqual(['a.yml', 'secrets/grafana_admin_password']);
    expect(readFileSync(join(root, 'secrets/grafana_admin_password'), 'utf8')).toBe('given-Pw-2');
  });
});

describe('releases kept on the host', () => {
  it('keeps the live release and the one before it, however many failed releases came after', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'md-prune-')), 'monitoring');
    const compose = file('docker-compose-dev.yml', 'services: {}\n');
    const good = [compose, file('a.yml', 'a: good\n')];
    deploy(root, good);
    // Each failed deploy is rolled back to the good release, as after a failed gate.
    for (let i = 1; i <= 8; i++) {
      deploy(root, [compose, file('a.yml', `a: failed ${i}\n`)]);
      const back = parseRestore(releaseId(good), sh(`cd '${root}'\n${restoreScript(releaseId(good))}`), ['app']);
      expect(back.changedPaths).toEqual(['a.yml']);
    }
    const kept = readdirSync(join(root, RELEASES));
    expect(kept).toContain(releaseId(good));
    expect(kept).toContain(releaseId([compose, file('a.yml', 'a: failed 8\n')]));
    expect(kept).not.toContain(releaseId([compose, file('a.yml', 'a: failed 1\n')]));
    expect(kept.length).toBe(5);
  });
});

describe('release names', () => {
  it('accepts a release id as the deploy makes it', () => {
    expect(() => assertReleaseId(releaseId([file('a', 'b')]))).not.toThrow();
  });

  it.each(["'$(id)'", '$(id)', '0123456789ab; id', '../../etc', 'ABCDEF012345', '0123456789a'])(
    'refuses %j before any script is made',
    (name) => {
      expect(() => restoreScript(name)).toThrow(/is not a release id/);
    },
  );
});

describe('invocation', () => {
  it('runs nothing of a script cut off in transit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-cut-'));
    const { command, stdin } = invocation(`touch '${dir}/first'\ntouch '${dir}/second'`);
    const cut = stdin.slice(0, stdin.indexOf('second'));
    const r = spawnSync('sh', ['-c', command], { input: cut, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(existsSync(join(dir, 'first'))).toBe(false);
    // The whole script runs both lines.
    execFileSync('sh', ['-c', command], { input: stdin });
    expect(existsSync(join(dir, 'second'))).toBe(true);
  });

  it('gives a script with data its data on stdin', () => {
    const { command, stdin } = invocation('cat | tr a-z A-Z', 'quoted \'data\' "here"');
    expect(execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' })).toBe('QUOTED \'DATA\' "HERE"');
  });
});
