// Why freezing Grafana while its data directory is copied gives a usable database: the real
// SQLite (Debian's sqlite3) writes transactions in a loop, the process is stopped (SIGSTOP, as
// `docker pause` freezes a container's processes with the cgroup freezer) at random moments,
// its directory copied with tar as the backup's host script copies it, and continued. Each copy,
// opened as Grafana would open it, must pass PRAGMA integrity_check and hold only whole
// transactions: SQLite rolls back a hot journal (or replays a WAL) found beside a database, as
// after a power cut (sqlite.org/atomiccommit.html, "4.5 Deleting The Hot Journal";
// sqlite.org/howtocorrupt.html, "Backup or restore while a transaction is active": a copy is
// unsafe only while a transaction is being written, which the stop rules out).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { privateTempDir } from '../helpers/private-tmp';

const hasSqlite = spawnSync('sqlite3', ['-version']).status === 0;
const ROWS_PER_TRANSACTION = 10;
const COPIES = 40;

/** Transactions without end: 10 rows of one batch and a running total, committed together. */
function* transactions(): Generator<string> {
  for (let n = 1; ; n++) {
    yield `BEGIN;
INSERT INTO t(batch, payload) SELECT ${n}, randomblob(300) FROM (VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10));
UPDATE total SET rows = rows + ${ROWS_PER_TRANSACTION};
COMMIT;
`;
  }
}

function startWriter(db: string, journalMode: 'delete' | 'wal'): ChildProcess {
  execFileSync('sqlite3', [
    db,
    `PRAGMA journal_mode=${journalMode}; CREATE TABLE t(id INTEGER PRIMARY KEY, batch INTEGER, payload BLOB); CREATE TABLE total(rows INTEGER); INSERT INTO total VALUES (0);`,
  ]);
  const writer = spawn('sqlite3', [db], { stdio: ['pipe', 'ignore', 'ignore'] });
  Readable.from(transactions())
    .pipe(writer.stdin as NodeJS.WritableStream)
    .on('error', () => undefined);
  return writer;
}

interface CopyCheck {
  readonly integrity: string;
  readonly rows: number;
  readonly total: number;
  readonly brokenBatches: number;
  /** The journal or WAL files that were in the copy beside the database. */
  readonly beside: readonly string[];
}

/** Copies the frozen directory with tar (as the host script does) and opens the copy read-write. */
function copyAndCheck(dir: string, to: string): CopyCheck {
  mkdirSync(to);
  execFileSync('sh', ['-c', `tar -cf - -C "$1" grafana | tar -xf - -C "$2"`, 'sh', dir, to]);
  const copy = join(to, 'grafana');
  const beside = readdirSync(copy).filter((f) => f !== 'grafana.db');
  const out = execFileSync(
    'sqlite3',
    [
      join(copy, 'grafana.db'),
      `PRAGMA integrity_check; SELECT count(*) FROM t; SELECT rows FROM total; SELECT count(*) FROM (SELECT batch FROM t GROUP BY batch HAVING count(*) != ${ROWS_PER_TRANSACTION});`,
    ],
    { encoding: 'utf8' },
  ).split('\n');
  return {
    integrity: out[0] ?? '',
    rows: Number(out[1]),
    total: Number(out[2]),
    brokenBatches: Number(out[3]),
    beside,
  };
}

describe.skipIf(!hasSqlite)('a copy of a stopped SQLite writer', () => {
  for (const mode of ['delete', 'wal'] as const) {
    it(`journal_mode=${mode}: ${COPIES} copies taken at random moments are whole and hold whole transactions only`, async () => {
      const root = privateTempDir('md-sqlite-');
      const dir = join(root, 'data');
      mkdirSync(join(dir, 'grafana'), { recursive: true });
      const writer = startWriter(join(dir, 'grafana', 'grafana.db'), mode);
      const checks: CopyCheck[] = [];
      try {
        await sleep(300);
        for (let i = 0; i < COPIES; i++) {
          await sleep(5 + Math.floor(Math.random() * 30));
          writer.kill('SIGSTOP');
          try {
            checks.push(copyAndCheck(dir, join(root, `copy-${i}`)));
          } finally {
            writer.kill('SIGCONT');
          }
        }
      } finally {
        writer.kill('SIGKILL');
      }
      for (const c of checks) {
        expect(c.integrity).toBe('ok');
        expect(c.brokenBatches).toBe(0);
        expect(c.rows).toBe(c.total);
        expect(c.rows % ROWS_PER_TRANSACTION).toBe(0);
      }
      // The writer was really writing while it was stopped: the copies grow, and some caught a
      // journal or WAL beside the database (what SQLite then rolled back or replayed).
      expect(checks.at(-1)?.rows ?? 0).toBeGreaterThan(checks[0]?.rows ?? 0);
      const journal = mode === 'wal' ? 'grafana.db-wal' : 'grafana.db-journal';
      expect(checks.filter((c) => c.beside.includes(journal)).length).toBeGreaterThan(0);
      expect(existsSync(join(root, 'copy-0', 'grafana', 'grafana.db'))).toBe(true);
    }, 120_000);
  }
});
