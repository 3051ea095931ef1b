// Issue 25, finding 5, the host side: the Directories step's scripts on this machine's own sh
// over real directories, as the host runs them. A remote dir another user could reach is refused
// before anything is made (a foreign-owned or world-writable parent, a link or someone else's
// file in secrets/); one the login user owns is tightened to 700 with secrets/.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { type DirsWanted, dirsScript, dirsState, parseUnsafeDirs, unsafeDirsError } from '../../src/host/dirs';
import { remoteLayout } from '../../src/model/layout';
import { privateTempDir } from '../helpers/private-tmp';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Runs a script as the host does; with `as`, as that user (setpriv), the login user there. */
function sh(script: string, as?: number): { code: number | null; stdout: string; stderr: string } {
  const { command, stdin } = invocation(script);
  const argv =
    as === undefined
      ? ['sh', '-c', command]
      : ['setpriv', `--reuid=${as}`, `--regid=${as}`, '--clear-groups', 'sh', '-c', command];
  const r = spawnSync(argv[0] ?? 'sh', argv.slice(1), { input: stdin, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A remote dir at <base>/<parent>/monitoring, for a monitoring host that makes its key and password. */
function wanted(base = privateTempDir('md-hostile-dirs-')): DirsWanted {
  return {
    layout: remoteLayout(join(base, 'parent', 'monitoring'), base),
    generatePassword: true,
    secretKey: true,
    agent: false,
  };
}

const mode = (path: string) => statSync(path).mode & 0o7777;
const parentOf = (w: DirsWanted) => join(w.layout.root, '..');
const unsafeOf = (w: DirsWanted, as?: number) => parseUnsafeDirs(sh(dirsState(w), as).stdout);

describe.skipIf(!isRoot)('the remote dir on the host, against other users', () => {
  it('a secrets/ someone made 777 (and a 755 remote dir) become 700, and the generated secrets are 600', () => {
    const w = wanted();
    const { root, secretsDir } = w.layout;
    mkdirSync(secretsDir, { recursive: true });
    chmodSync(root, 0o755);
    chmodSync(secretsDir, 0o777);
    expect(unsafeOf(w)).toEqual([]);
    // The state read asks for the Directories step, though every directory is there.
    expect(sh(dirsState(w)).stdout).toContain(`@missing ${secretsDir}`);
    const r = sh(dirsScript(w));
    expect(r.code, r.stderr).toBe(0);
    expect(mode(secretsDir)).toBe(0o700);
    expect(mode(root)).toBe(0o700);
    expect(mode(join(secretsDir, 'grafana_admin_password'))).toBe(0o600);
    expect(mode(join(secretsDir, 'grafana_secret_key'))).toBe(0o600);
    expect(sh(dirsState(w)).stdout).not.toContain('@missing');
  });

  it('a parent owned by another user is refused, naming it, and nothing is made', () => {
    const w = wanted();
    mkdirSync(parentOf(w));
    chownSync(parentOf(w), NOBODY, NOBODY);
    const [finding] = unsafeOf(w);
    expect(finding).toContain(
      `${parentOf(w)}, on the way to remote-dir ${w.layout.root}, belongs to nobody, neither root nor the login user root`,
    );
    const r = sh(dirsScript(w));
    expect(r.code).toBe(7);
    expect(r.stderr.trim()).toBe(finding);
    expect(existsSync(w.layout.root)).toBe(false);
    expect(unsafeDirsError([finding ?? '']).message).toMatch(
      /^The remote dir is not safe for the deploy's secrets; nothing was changed:\n {2}\//,
    );
  });

  it('a parent every user may write is refused, sticky or not, with the fix', () => {
    for (const m of [0o777, 0o1777]) {
      const w = wanted();
      mkdirSync(parentOf(w));
      chmodSync(parentOf(w), m);
      const r = sh(dirsScript(w));
      expect(r.code).toBe(7);
      expect(r.stderr).toContain(
        `${parentOf(w)}, on the way to remote-dir ${w.layout.root}, is writable by every user (mode ${m.toString(8)})`,
      );
      expect(r.stderr).toContain(`sudo chmod o-w ${parentOf(w)}`);
      expect(existsSync(w.layout.root)).toBe(false);
    }
  });

  it('a parent reached through a link is checked where it leads', () => {
    const base = privateTempDir('md-hostile-dirs-');
    // The link's target is root's, 755; the directory holding that target is open to all.
    mkdirSync(join(base, 'open', 'inner'), { recursive: true });
    chmodSync(join(base, 'open'), 0o777);
    symlinkSync(join(base, 'open', 'inner'), join(base, 'parent'));
    const w = wanted(base);
    const r = sh(dirsScript(w));
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(
      `${join(base, 'open')}, on the way to remote-dir ${w.layout.root}, is writable by every user`,
    );
    expect(existsSync(join(base, 'open', 'inner', 'monitoring'))).toBe(false);
  });

  it("a link planted where the password's temp file was written is not followed: refused, its target untouched", () => {
    const w = wanted();
    const { secretsDir } = w.layout;
    mkdirSync(secretsDir, { recursive: true });
    const victim = join(privateTempDir('md-victim-'), 'authorized_keys');
    writeFileSync(victim, 'ssh-ed25519 AAAA me\n');
    const planted = join(secretsDir, 'grafana_admin_password.tmp');
    symlinkSync(victim, planted);
    const r = sh(dirsScript(w));
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(
      `${planted} is a symbolic link: a secret written there would go where it points. Remove it (rm ${planted})`,
    );
    expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA me\n');
    expect(readlinkSync(planted)).toBe(victim);
    expect(existsSync(join(secretsDir, 'grafana_admin_password'))).toBe(false);
  });

  it("a grafana_secret_key another user put in secrets/ is refused, not kept; the directory's mode is left as it was", () => {
    const w = wanted();
    const { secretsDir } = w.layout;
    mkdirSync(secretsDir, { recursive: true });
    chmodSync(secretsDir, 0o777);
    const key = join(secretsDir, 'grafana_secret_key');
    writeFileSync(key, 'a-key-the-planter-knows');
    chownSync(key, NOBODY, NOBODY);
    expect(unsafeOf(w)[0]).toContain(`${key} belongs to nobody, not to root: someone else made it`);
    const r = sh(dirsScript(w));
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`Remove it (sudo rm ${key}) and deploy again`);
    expect(mode(secretsDir)).toBe(0o777);
    expect(lstatSync(key).uid).toBe(NOBODY);
    expect(existsSync(join(secretsDir, 'grafana_admin_password'))).toBe(false);
  });

  it('for a login user who is not root: a remote dir root made is refused with the chown that fixes it; their own is made 700', () => {
    const base = privateTempDir('md-hostile-dirs-');
    chmodSync(base, 0o755);
    const w = wanted(base);
    mkdirSync(w.layout.root, { recursive: true });
    chmodSync(w.layout.root, 0o777);
    const r = sh(dirsScript(w), NOBODY);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`${w.layout.root} belongs to root, not to nobody, who deploys`);
    expect(r.stderr).toContain(`sudo chown -R nobody ${w.layout.root}`);
    chownSync(w.layout.root, NOBODY, NOBODY);
    const ok = sh(dirsScript(w), NOBODY);
    expect(ok.code, ok.stderr).toBe(0);
    expect(mode(w.layout.root)).toBe(0o700);
    expect(statSync(join(w.layout.secretsDir, 'grafana_secret_key')).uid).toBe(NOBODY);
  });
});
