// The bundled compose files pin exactly the versions of src/model/versions.ts, the one place
// versions are kept (and the README's table is made from).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseComposeFile } from '../../src/model/compose';
import type { StackFile } from '../../src/model/files';
import { PINNED_IMAGES, pinnedImageOf } from '../../src/model/versions';

const dir = resolve(__dirname, '../../compose');
const composeFiles = (): StackFile[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => ({ path: f, content: readFileSync(join(dir, f)), mode: 0o644 }));

/** Every service with its image, of every compose file given. */
const imagesOf = (files: readonly StackFile[]) =>
  files.flatMap((f) =>
    parseComposeFile(f).services.map((s) => ({ file: f.path, service: s.name, image: s.image?.value ?? '' })),
  );

/** The services that pin anything but versions.ts' image (the app, `server`, runs app-image). */
const wrongPins = (files: readonly StackFile[]) =>
  imagesOf(files)
    .filter((x) => x.service !== 'server' && x.image !== pinnedImageOf(x.service))
    .map((x) => `${x.file} ${x.service}: ${x.image}, versions.ts says ${pinnedImageOf(x.service) ?? 'nothing'}`);

describe('pinned versions', () => {
  it('every image of every compose/*.yml is the one versions.ts pins for its service', () => {
    expect(imagesOf(composeFiles()).length).toBeGreaterThan(10);
    expect(wrongPins(composeFiles())).toEqual([]);
  });

  it('the check fails on a compose file that pins another version', () => {
    const files = composeFiles().map((f) =>
      f.path === 'docker-compose-dev-monitoring.yml'
        ? { ...f, content: Buffer.from(f.content.toString().replace('grafana/loki:3.6.15', 'grafana/loki:3.6.3')) }
        : f,
    );
    expect(wrongPins(files)).toEqual([
      'docker-compose-dev-monitoring.yml loki: grafana/loki:3.6.3, versions.ts says grafana/loki:3.6.15',
    ]);
  });

  it('every service versions.ts names is in a compose file (no stale entries)', () => {
    const services = new Set(imagesOf(composeFiles()).map((x) => x.service));
    expect(PINNED_IMAGES.flatMap((p) => p.services).filter((s) => !services.has(s))).toEqual([]);
  });
});
