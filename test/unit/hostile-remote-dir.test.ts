// Issue 25, finding 5, the input side: a remote-dir under a tree the system, a temporary
// directory or a home's credentials own is refused before any connection, naming the tree and
// why; a directory of its own under a home, /opt, /srv, /mnt or /var/lib is taken.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../src/settings/settings';
import { CONNECTING, goodDeployFlags } from '../helpers/cli-runs';
import { runCli } from '../helpers/dist';
import { throwawayPrivateKey } from '../helpers/keys';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const base: Record<string, string> = {
  host: 'dev.example.com',
  username: 'ec2-user',
  'ssh-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
  'host-fingerprint': `SHA256:${'x'.repeat(43)}`,
};
const problemsOf = (remoteDir: string) =>
  problemsOfRead(() => readSettings({ ...base, 'remote-dir': remoteDir }, { needsConnection: true }));

describe('remote-dir under a tree it must not be in', () => {
  it.each([
    ['/tmp/monitoring', '/tmp, a world-writable directory'],
    ['/var/tmp/x', '/var/tmp, a world-writable directory'],
    ['/dev/shm/x', '/dev, a tree the kernel or the init system manages'],
    ['/run/user/1000/m', '/run, a tree the kernel'],
    ['/proc/self/cwd', '/proc, a tree the kernel'],
    ['~/.ssh', '~/.ssh, a hidden directory of a home, where programs keep their settings and credentials'],
    ['~/.ssh/monitoring', '~/.ssh, a hidden directory of a home'],
    ['~/.monitoring-deploy', '~/.monitoring-deploy, a hidden directory of a home'],
    ['/home/ec2-user/.docker/m', '/home/ec2-user/.docker, a hidden directory of a home'],
    ['/root/.gnupg', '/root/.gnupg, a hidden directory'],
    ['/etc/ssh', "/etc, the system's own files"],
    ['/etc/systemd/system', "/etc, the system's own files"],
    ['/boot/grub', "/boot, the system's own files"],
    ['/usr/local/monitoring', "/usr, the system's own files"],
    ['/lib64/m', "/lib64, the system's own files"],
    ['/var/lib/docker/volumes', "/var/lib/docker, the container runtime's or the system's own state"],
    ['/var/lib/containerd/m', '/var/lib/containerd, the container runtime'],
    ['/var/log/monitoring', '/var/log, a tree the system cleans, rotates or delivers into'],
  ])('%j is refused, naming %j', (value, why) => {
    const problems = problemsOf(value);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`remote-dir: ${JSON.stringify(value)} is under ${why}`);
    expect(problems[0]).toMatch(/; use a directory of its own, e.g\. ~\/monitoring or \/opt\/monitoring$/);
  });

  it.each([
    '~/monitoring',
    '~/apps/monitoring',
    '/opt/monitoring',
    '/srv/monitoring',
    '/mnt/data/monitoring',
    '/var/lib/monitoring',
    '/home/bob/monitoring',
    '/tmpfiles/monitoring',
    '/library/m',
    '~/a.b/monitoring',
  ])('%j, a directory of its own, is taken', (value) => {
    expect(problemsOf(value)).toEqual([]);
  });

  it('the built CLI exits 2 before any connection, naming remote-dir and the tree', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'remote-dir-')), 'id');
    writeFileSync(keyFile, throwawayPrivateKey());
    for (const [value, tree] of [
      ['/tmp/monitoring', '/tmp'],
      ['~/.ssh', '~/.ssh'],
      ['/var/lib/docker/volumes', '/var/lib/docker'],
    ] as const) {
      const r = await runCli([...goodDeployFlags(keyFile), '--remote-dir', value]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`remote-dir: ${JSON.stringify(value)} is under ${tree}`);
      expect(r.stdout + r.stderr).not.toMatch(CONNECTING);
    }
  });
});
