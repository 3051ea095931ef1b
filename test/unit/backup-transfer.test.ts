// RemoteHost.exchange over a real sshd (test/helpers/local-sshd.ts): the way a backup comes down
// and a restore goes up. Bytes are bytes both ways (every value 0-255, more than one channel
// window), and a script that fails is an error with its exit code and words, not a short archive.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteHost } from '../../src/connection/ssh';
import { DeployError } from '../../src/errors';
import { readSettings } from '../../src/settings/settings';
import { type LocalSshd, localSshd, SSHD } from '../helpers/local-sshd';

let sshd: LocalSshd;
let remote: RemoteHost;
beforeAll(async () => {
  if (!existsSync(SSHD)) return;
  sshd = await localSshd();
  await sshd.start();
  const { connection } = readSettings({
    host: '127.0.0.1',
    port: String(sshd.port),
    username: sshd.user,
    'ssh-key': sshd.key,
    'host-fingerprint': sshd.fingerprint,
  });
  remote = await RemoteHost.connect(connection);
}, 30_000);
afterAll(async () => {
  remote?.close();
  await sshd?.dispose();
});

describe.skipIf(!existsSync(SSHD))('bytes to and from the host', () => {
  it('sends 3 MiB with every byte value to a script and gets them back unchanged', async () => {
    const input = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7 + (i >> 11)) & 0xff;
    const back = await remote.exchange('cat', { what: 'echoing bytes', input });
    expect(back.length).toBe(input.length);
    expect(back.equals(input)).toBe(true);
  });

  it('a script that fails: its exit code and its words, whatever it sent before', async () => {
    const e = await remote
      .exchange('printf "half an archive"; echo "tar: write error" >&2; exit 3', { what: 'Sending the backup' })
      .catch((x: Error) => x);
    expect(e).toBeInstanceOf(DeployError);
    expect((e as Error).message).toMatch(/^Sending the backup failed on the host \(exit 3\):\ntar: write error/);
  });

  it('explain turns an exit code into its own error', async () => {
    const e = await remote
      .exchange('exit 9', { what: 'x', explain: (r) => (r.code === 9 ? new DeployError('checksum') : undefined) })
      .catch((x: Error) => x);
    expect((e as Error).message).toBe('checksum');
  });
});
