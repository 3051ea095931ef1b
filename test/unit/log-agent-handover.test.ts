// Promtail → Alloy (log-agent: alloy) hands over Promtail's read positions: no line is sent
// twice, so no error-log alert fires for old errors. No Alloy image runs here, so the hand-over is
// tested through its mechanism:
//  - the real Promtail (realbin) reads the stack's log files with the stack's config and is
//    stopped as Compose stops it (SIGTERM); what it leaves is its positions file;
//  - Alloy's side is its code at v1.18.1, re-implemented below from the functions it names
//    (internal/component/loki/source/internal/positions/positions.go and
//    internal/component/loki/source/file/{file.go,tailer.go,resolver.go});
//  - the rendered compose files give Alloy that file at the path its config names, and the log
//    files at the paths Promtail keyed them by;
//  - the deploy's script (stack/compose.ts) stops Promtail before it starts Alloy, and clears
//    Alloy's own old positions, without which Alloy would not convert Promtail's.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { LOG_AGENTS } from '../../src/base/log-agents';
import type { RemoteHost } from '../../src/connection/ssh';
import type { HostFacts } from '../../src/host/preflight';
import { parseComposeFile } from '../../src/model/compose';
import { readSettings } from '../../src/settings/settings';
import { upStacks } from '../../src/stack/compose';
import { planStack } from '../../src/stack/plan';
import { freePorts, realbin, unpacked } from '../helpers/realbin';

const PROMTAIL = realbin('promtail', 'log-agent-handover');
const work = mkdtempSync(join(tmpdir(), 'md-handover-'));
const running: ChildProcess[] = [];
let pushServer: Server | undefined;

afterAll(() => {
  for (const p of running) p.kill('SIGKILL');
  pushServer?.close();
  rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rendered(raw: Record<string, string>) {
  const settings = readSettings({ 'app-image': 'me/back:1.4.2', ...raw }, { needsConnection: false });
  return planStack(settings).rendered;
}
const text = (files: readonly { path: string; content: Buffer }[], path: string) =>
  files.find((f) => f.path === path)?.content.toString() ?? '';

// ---- Alloy v1.18.1, re-implemented ---------------------------------------------------------

/** A positions entry's key: Alloy's positions.Entry{Path, Labels}. */
const entry = (path: string, labels: string) => `${path}\u0000${labels}`;

/** prometheus/common model.LabelSet.String(): names sorted, `{a="x", b="y"}`. */
function labelSetString(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ')}}`;
}

/**
 * readLegacyFile (positions.go): undefined for a missing or empty file, or one that
 * yaml.UnmarshalStrict into `LegacyFile{Positions map[string]string}` refuses (an unknown
 * field, a duplicate key, a value that is no scalar).
 */
function readLegacyFile(text: string | undefined): Map<string, string> | undefined {
  if (!text) return undefined;
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) return undefined;
  const data = doc.toJS() as Record<string, unknown> | null;
  if (!data || typeof data !== 'object' || Object.keys(data).some((k) => k !== 'positions')) return undefined;
  const positions = (data.positions ?? {}) as Record<string, unknown>;
  const out = new Map<string, string>();
  for (const [path, v] of Object.entries(positions)) {
    if (typeof v === 'object') return undefined;
    out.set(path, String(v));
  }
  return out;
}

/**
 * The positions loki.source.file starts with (New in file.go): ConvertLegacyPositionsFile turns
 * the legacy file into entries with the labels "{}", but only when the component's own
 * positions.yml is missing or empty; otherwise its own are used and the legacy file is ignored.
 */
function alloyPositionsAtStart(legacy: string | undefined, own: Map<string, string>): Map<string, string> {
  const converted = readLegacyFile(legacy);
  if (!converted || own.size > 0) return own;
  return new Map([...converted].map(([path, offset]) => [entry(path, '{}'), offset]));
}

/**
 * Where the tailer starts a file (initRun in tailer.go): its own entry (path and the target's
 * labels); when that is 0 and legacy_positions_file is set, the entry with the labels "{}".
 */
function alloyStartOffset(positions: Map<string, string>, path: string, labels: string, legacySet: boolean): number {
  let pos = Number(positions.get(entry(path, labels)) ?? 0);
  if (pos === 0 && legacySet) pos = Number(positions.get(entry(path, '{}')) ?? 0);
  return pos;
}

interface AlloyTarget {
  readonly glob: string;
  /** Its labels without the reserved (__*) ones: target.NonReservedLabelSet(). */
  readonly labels: Record<string, string>;
}

/** The path_targets of a config.alloy's local.file_match, as one `{…}` per line. */
function pathTargets(config: string): AlloyTarget[] {
  return [...config.matchAll(/^\s*\{("__path__".*)\},?\s*$/gm)].map((m) => {
    const pairs = [...(m[1] ?? '').matchAll(/"([^"]+)"\s*=\s*"([^"]*)"/g)].map((p) => [p[1], p[2]] as [string, string]);
    const all = Object.fromEntries(pairs);
    return {
      glob: all.__path__ ?? '',
      labels: Object.fromEntries(pairs.filter(([k]) => !k.startsWith('__'))),
    };
  });
}

/** loki.source.file's legacy_positions_file, if the config sets it. */
const legacyPositionsFile = (config: string) => /^\s*legacy_positions_file\s*=\s*"([^"]+)"/m.exec(config)?.[1];

// ---- the hand-over -------------------------------------------------------------------------

/** A dir/*.log glob, as the bundled jobs write it, expanded under root (the container's /). */
function expand(root: string, glob: string): string[] {
  const dir = posix.dirname(glob);
  expect(posix.basename(glob)).toBe('*.log');
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.log'))
    .map((f) => posix.join(dir, f));
}

/** Loki's push API, as far as Promtail needs it: every batch accepted. */
async function pushStandIn(): Promise<number> {
  pushServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.url === '/loki/api/v1/push' ? 204 : 404).end());
  });
  await new Promise<void>((ok) => pushServer?.listen(0, '127.0.0.1', ok));
  return (pushServer.address() as AddressInfo).port;
}

/** promtail_read_bytes_total per path (the container path), from Promtail's /metrics. */
async function readBytes(port: number, root: string): Promise<Map<string, number>> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of body.matchAll(/^promtail_read_bytes_total\{path="([^"]+)"\} (\S+)$/gm))
    out.set((m[1] ?? '').slice(root.length), Number(m[2]));
  return out;
}

const sizeOf = (root: string, path: string) => statSync(join(root, path)).size;

async function untilRead(port: number, root: string, files: string[]): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const read = await readBytes(port, root).catch(() => new Map<string, number>());
    if (files.every((f) => read.get(f) === sizeOf(root, f))) return;
    await sleep(500);
  }
  throw new Error(`Promtail did not read ${files.join(', ')} to their end within 30s`);
}

/** The stack's Promtail config, with the container's paths under root and Loki at the stand-in. */
function promtailConfigUnder(config: string, root: string, ports: { http: number; push: number }): string {
  return (
    config
      .replace(/(__path__: )\/var\/log\//g, `$1${root}/var/log/`)
      .replace('filename: /promtail/positions.yaml', `filename: ${root}/promtail/positions.yaml`)
      // Its positions are saved only when it stops: what Alloy finds is what the stop wrote.
      .replace(/^positions:\n/m, 'positions:\n  sync_period: 1h\n')
      .replace('http_listen_port: 9080', `http_listen_port: ${ports.http}\n  http_listen_address: 127.0.0.1`)
      .replace('http://loki:3100', `http://127.0.0.1:${ports.push}`)
  );
}

const APP_LINES = {
  '/var/log/app/info/app.log': '2026-12-01 10:00:00.000 INFO  started\n',
  '/var/log/app/error/app.log': '2026-12-01 10:00:01.000 ERROR old failure, alerted on long ago\n',
  '/var/log/app/debug/app.log': '2026-12-01 10:00:02.000 DEBUG details\n',
  '/var/log/nginx/access.log': '10.0.0.1 - - [01/Dec/2026:10:00:03 +0000] "GET / HTTP/1.1" 200 12\n',
};

describe.skipIf(!PROMTAIL)('Promtail → Alloy: the read positions carry over (the real Promtail)', () => {
  it('Promtail stopped with SIGTERM leaves the end of every file it read, and Alloy converting that file starts each there: nothing sent again', async () => {
    const root = join(work, 'host');
    for (const [path, line] of Object.entries(APP_LINES)) {
      mkdirSync(join(root, posix.dirname(path)), { recursive: true });
      writeFileSync(join(root, path), line.repeat(3));
    }
    mkdirSync(join(root, 'promtail'));
    const [http = 0] = await freePorts(1);
    const push = await pushStandIn();
    const files = rendered({ 'host-name': 'dev-1' }).files;
    writeFileSync(
      join(work, 'promtail.yml'),
      promtailConfigUnder(text(files, 'promtail-dev-config.yml'), root, { http, push }),
    );
    const promtail = spawn(await unpacked(PROMTAIL as string), [`-config.file=${join(work, 'promtail.yml')}`], {
      stdio: 'ignore',
    });
    running.push(promtail);
    const paths = Object.keys(APP_LINES);
    await untilRead(http, root, paths);
    // Lines written while it runs, read after its last look at the positions file.
    for (const [path, line] of Object.entries(APP_LINES)) appendFileSync(join(root, path), line);
    await untilRead(http, root, paths);
    const exited = new Promise((ok) => promtail.once('exit', ok));
    promtail.kill('SIGTERM');
    await exited;

    const legacy = readFileSync(join(root, 'promtail/positions.yaml'), 'utf8');
    // What Promtail wrote, under the container paths Alloy resolves (filepath.Abs of the glob's matches).
    const promtailOffsets = Object.fromEntries(
      Object.entries((parse(legacy) as { positions: Record<string, string> }).positions).map(([p, o]) => [
        p.slice(root.length),
        Number(o),
      ]),
    );
    expect(promtailOffsets).toEqual(Object.fromEntries(paths.map((p) => [p, sizeOf(root, p)])));

    // Lines written between Promtail's stop and Alloy's start: Alloy must read them, once.
    const gap = '2026-12-01 10:05:00.000 ERROR new failure, after the switch\n';
    appendFileSync(join(root, '/var/log/app/error/app.log'), gap);

    const config = text(rendered({ 'host-name': 'dev-1', 'log-agent': 'alloy' }).files, 'alloy/config.alloy');
    expect(legacyPositionsFile(config)).toBe('/promtail/positions.yaml');
    const underRoot = legacy.replaceAll(`${root}/`, '/');
    const positions = alloyPositionsAtStart(underRoot, new Map());
    const starts: Record<string, number> = {};
    for (const target of pathTargets(config))
      for (const path of expand(root, target.glob))
        starts[path] = alloyStartOffset(positions, path, labelSetString(target.labels), true);
    expect(Object.keys(starts).sort()).toEqual([...paths].sort());
    for (const path of paths) {
      const unread = readFileSync(join(root, path)).subarray(starts[path]).toString();
      expect({ path, unread }).toEqual({ path, unread: path.endsWith('error/app.log') ? gap : '' });
    }

    // Without the hand-over (Alloy's positions of an earlier run kept), the conversion is skipped
    // and the files start where that run left them: here, at the beginning, every line again.
    const stale = alloyPositionsAtStart(underRoot, new Map([[entry('/elsewhere.log', '{}'), '1']]));
    expect(alloyStartOffset(stale, paths[1] as string, '{job="error_logs"}', true)).toBe(0);
  }, 60_000);
});

describe("Alloy reaches Promtail's positions and files under the same paths", () => {
  const cases: { role: string; compose: string; promtailConfig: string; raw: Record<string, string> }[] = [
    {
      role: 'central stack',
      compose: 'docker-compose-dev-monitoring.yml',
      promtailConfig: 'promtail-dev-config.yml',
      raw: {},
    },
    {
      role: 'agent host',
      compose: 'docker-compose-agent.yml',
      promtailConfig: 'promtail-agent-config.yml',
      raw: {
        role: 'agent',
        'remote-write-url': 'https://10.0.0.5:9095/api/v1/write',
        'loki-push-url': 'https://10.0.0.5:9095/loki/api/v1/push',
      },
    },
  ];
  for (const c of cases) {
    it(`${c.role}: the positions volume read-only at the config's legacy_positions_file, the log mounts as Promtail's`, () => {
      const promtailFiles = rendered(c.raw).files;
      const alloyFiles = rendered({ ...c.raw, 'log-agent': 'alloy' }).files;
      const compose = (files: typeof alloyFiles) => files.find((f) => f.path === c.compose);
      const service = (files: typeof alloyFiles, name: string) => {
        const file = compose(files);
        const svc = file ? parseComposeFile(file).services.find((s) => s.name === name) : undefined;
        if (!svc) throw new Error(`${c.compose} has no ${name} service`);
        return svc;
      };
      const promtail = service(promtailFiles, 'promtail');
      const alloy = service(alloyFiles, 'alloy');
      const positionsFile = (parse(text(promtailFiles, c.promtailConfig)) as { positions: { filename: string } })
        .positions.filename;
      const volumeFile = (svc: typeof alloy, path: string) => {
        const mt = svc.mounts.find((m) => m.named && path.startsWith(`${m.target}/`));
        return mt && `${mt.source}:${posix.relative(mt.target, path)}`;
      };
      const configMount = alloy.mounts.find((m) => m.target === '/etc/alloy/config.alloy');
      const config = text(alloyFiles, configMount?.source.replace(/^\.\//, '') ?? '');
      const legacy = legacyPositionsFile(config) ?? '';
      expect(volumeFile(alloy, legacy)).toBe('promtail-positions:positions.yaml');
      expect(volumeFile(alloy, legacy)).toBe(volumeFile(promtail, positionsFile));
      // Alloy only reads it: the file stays Promtail's, as it left it.
      const raw = parse(text(alloyFiles, c.compose)) as { services: { alloy: { volumes: string[] } } };
      expect(raw.services.alloy.volumes).toContain('promtail-positions:/promtail:ro');
      // Promtail keys by the path in its container: Alloy must see each log file at the same one.
      const logMounts = (svc: typeof alloy) =>
        svc.mounts
          .filter((m) => !m.named && m.target.startsWith('/var/log/'))
          .map((m) => `${m.source}:${m.target}`)
          .sort();
      expect(logMounts(alloy)).toEqual(logMounts(promtail));
      expect(logMounts(alloy).length).toBe(2);
      // And Alloy's jobs glob the same container paths as Promtail's.
      const globs = (cfg: string) => [...cfg.matchAll(/__path__"?\s*[:=]\s*"?([^"\s,}]+)/g)].map((m) => m[1]).sort();
      expect(globs(config)).toEqual(globs(text(promtailFiles, c.promtailConfig)));
    });
  }

  it("the hand-over's removal of Alloy's own positions matches the file the component keeps (storage path and component id)", () => {
    const files = rendered({ 'log-agent': 'alloy' }).files;
    const alloy = parseComposeFile(
      files.find((f) => f.path === 'docker-compose-dev-monitoring.yml') as (typeof files)[number],
    ).services.find((s) => s.name === 'alloy');
    const storage = alloy?.command.find((a) => a.startsWith('--storage.path='))?.split('=')[1] ?? '';
    const component = /^loki\.source\.file "([^"]+)"/m.exec(text(files, 'alloy/config.alloy'))?.[1];
    // file.go: DataPath is <storage.path>/<component id>; the positions are DataPath/positions.yml.
    const own = `${storage}/loki.source.file.${component}/positions.yml`;
    const root = join(work, 'alloy-root');
    mkdirSync(join(root, posix.dirname(own)), { recursive: true });
    writeFileSync(join(root, own), 'positions:\n  ? path: /var/log/app/info/app.log\n    labels: "{}"\n  : "5"\n');
    writeFileSync(join(root, storage, 'keep-me'), 'other state');
    const glob = LOG_AGENTS.find((a) => a.name === 'alloy')?.takesOver?.ownPositions ?? '';
    execFileSync('sh', ['-c', `cd ${root} && rm -f .${glob}`]);
    expect(existsSync(join(root, own))).toBe(false);
    expect(existsSync(join(root, storage, 'keep-me'))).toBe(true);
  });
});

describe('the switch on the host: Promtail stopped before Alloy starts', () => {
  // The deploy's real script on a real sh; docker is a stand-in on the PATH that keeps which
  // containers exist and logs each call, with the containers that existed at that moment.
  it("removes Promtail (Compose stops it with SIGTERM), clears Alloy's old positions, then brings Alloy up", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-switch-'));
    const state = join(dir, 'containers');
    const log = join(dir, 'calls');
    writeFileSync(
      state,
      `${['md-monitoring promtail', 'md-monitoring loki', 'md-monitoring disk-guard', 'md-app server'].join('\n')}\n`,
    );
    writeFileSync(
      join(dir, 'docker'),
      `#!/bin/sh
echo "$* | with: $(cut -d' ' -f2 "$STATE" | sort | tr '\\n' ' ')" >> "$CALLS"
case "$1 $2" in
  "ps -a") awk '{ print $1, $2, "id-" $2 }' "$STATE" ;;
  "ps -aq") p=\${5#*project=}; s=\${7#*service=}; grep -qx "$p $s" "$STATE" && echo "id-$s" ;;
  compose*) case "$*" in
    *" rm -s -f "*) for last; do :; done; grep -vx "md-monitoring $last" "$STATE" > "$STATE.n"; mv "$STATE.n" "$STATE" ;;
    *"md-monitoring"*" up -d "*) echo "md-monitoring alloy" >> "$STATE" ;;
  esac ;;
esac
exit 0
`,
      { mode: 0o755 },
    );
    const remote = {
      run: async (script: string) =>
        execFileSync('sh', ['-c', script], {
          encoding: 'utf8',
          env: { PATH: `${dir}:/usr/bin:/bin`, STATE: state, CALLS: log },
        }),
    } as unknown as RemoteHost;
    const facts = { dockerAccess: 'direct', compose: { command: 'docker compose', version: '2.29.7' } } as HostFacts;
    const r = rendered({ 'log-agent': 'alloy' });
    const up = await upStacks(remote, facts, {
      root: dir,
      rendered: r,
      changedPaths: [],
      pull: 'missing',
      release: 'r2',
    });
    expect(up.removed).toEqual(['promtail']);
    const calls = readFileSync(log, 'utf8').split('\n');
    const monitoring = calls.filter((l) => l.startsWith('compose -p md-monitoring'));
    const at = (re: RegExp) => monitoring.findIndex((l) => re.test(l));
    const removed = at(/ rm -s -f promtail /);
    const cleared = at(/ run --rm --no-deps -T --entrypoint \/bin\/sh alloy -c /);
    const started = at(/ up -d /);
    expect(removed).toBeGreaterThanOrEqual(0);
    expect([removed < cleared, cleared < started]).toEqual([true, true]);
    expect(monitoring[cleared]).toContain('rm -f /var/lib/alloy/data/loki.source.file.*/positions.yml');
    // When Alloy is brought up, Promtail no longer exists.
    expect(monitoring[started]).not.toMatch(/with: .*\bpromtail\b/);
    // A deploy that keeps Alloy does not touch its positions.
    writeFileSync(log, '');
    await upStacks(remote, facts, { root: dir, rendered: r, changedPaths: [], pull: 'missing', release: 'r3' });
    expect(readFileSync(log, 'utf8')).not.toContain(' run --rm');
  });
});
