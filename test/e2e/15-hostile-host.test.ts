// Issue 25, finding 5, on the sandbox host: a remote dir under a directory every user may write
// is refused from the state the deploy reads first, before swap, network or any directory is
// made, naming the directory and the fix. (The script's checks themselves run on a real sh in
// test/unit/hostile-host-dirs.test.ts; this shows where the deploy stops.)
import { describe, expect, it } from 'vitest';
import { deployWithCli, hostSnapshot, sandboxInputs, sh } from '../helpers/deploy';
import { loadSandbox } from '../helpers/sandbox';

describe('a remote dir other users could reach, on the sandbox host', () => {
  it('under a world-writable directory: refused before the host changes', async () => {
    const s = loadSandbox();
    const open = `${s.home}/shared-by-all`;
    sh(`mkdir -p ${open} && chmod 777 ${open}`);
    try {
      const remoteDir = `${open}/monitoring`;
      const before = hostSnapshot(s, remoteDir);
      const r = await deployWithCli(sandboxInputs(s, { 'remote-dir': remoteDir }));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain("The remote dir is not safe for the deploy's secrets; nothing was changed:");
      expect(r.stderr).toContain(
        `${open}, on the way to remote-dir ${remoteDir}, is writable by every user (mode 777)`,
      );
      expect(r.stderr).toContain(`sudo chmod o-w ${open}`);
      const steps = (r.json.steps as { name: string; status: string }[]).map((x) => `${x.name}=${x.status}`);
      expect(steps.slice(-2)).toEqual(['Disk budget=ok', 'Directories=failed']);
      expect(hostSnapshot(s, remoteDir)).toEqual(before);
      expect(sh(`ls -A ${open}`)).toBe('');
    } finally {
      sh(`rm -rf ${open}`);
    }
  });
});
