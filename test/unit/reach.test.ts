// How a connection reaches the host, against real OpenSSH sshds on this machine: tries again
// what passes (nothing listening yet, a reset during key exchange, no banner yet) and never what
// does not (a wrong host key, a refused key or user); a proxy command (real nc) carries it; a
// jump host (a second sshd) forwards it, its own key pinned as strictly as the host's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Log } from '../../src/base/log';
import { RemoteHost } from '../../src/connection/ssh';
import { runExec } from '../../src/engine/inspect';
import { ConnectionLostError, HostUnreachableError } from '../../src/errors';
import { type RawInputs, readSettings } from '../../src/settings/settings';
import { frontListener, type LocalSshd, localSshd, SSHD } from '../helpers/local-sshd';
import { freePorts } from '../helpers/realbin';

const HAVE_SSHD = existsSync(SSHD);
const HAVE_NC = existsSync('/usr/bin/nc') || existsSync('/bin/nc');
if (!HAVE_SSHD) console.warn(`reach.test: no ${SSHD} (openssh-server): its tests are skipped`);
if (!HAVE_NC)
  console.warn('reach.test: no nc (netcat-openbsd, test/sandbox/install.sh): proxy command tests are skipped');

function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (l) => lines.push(`info: ${l}`),
    warn: (l) => lines.push(`warn: ${l}`),
    error: (l) => lines.push(`error: ${l}`),
  };
}

/** The settings the inputs make, as a deploy reads them: the target's address, key and pin, and `inputs`. */
function settingsFor(target: LocalSshd, inputs: RawInputs) {
  return readSettings({
    host: '127.0.0.1',
    port: String(target.port),
    username: target.user,
    'ssh-key': target.key,
    'host-fingerprint': target.fingerprint,
    'connect-timeout': '10s',
    ...inputs,
  });
}

const connection = (target: LocalSshd, inputs: RawInputs) => settingsFor(target, inputs).connection;

async function connectAndRun(settings: ReturnType<typeof connection>, log: Log) {
  const remote = await RemoteHost.connect(settings, log);
  try {
    const r = await remote.exec('echo reached');
    return { remote, stdout: r.stdout.trim(), tries: remote.tries, detail: remote.routeDetail };
  } finally {
    remote.close();
  }
}

async function failure(settings: ReturnType<typeof connection>, log: Log): Promise<Error> {
  const e = await RemoteHost.connect(settings, log).then(
    (r) => {
      r.close();
      return new Error('connected, but should not have');
    },
    (err: Error) => err,
  );
  return e;
}

const escapedFp = (fp: string) => fp.replace(/[+/]/g, '\\$&');
const tries = (log: { lines: string[] }) => log.lines.filter((l) => /Connect: try \d+/.test(l));

/** The sshd of the retries and proxy command tests (the jump host tests start their own two). */
let sshd: LocalSshd;
beforeAll(async () => {
  if (!HAVE_SSHD) return;
  sshd = await localSshd();
  await sshd.start();
});
afterAll(() => sshd?.dispose());

describe.skipIf(!HAVE_SSHD)('retries: transient failures are tried again within connect-timeout', () => {
  it('sshd not listening yet (a host still booting): refused tries, then in once it listens', async () => {
    const late = await localSshd();
    try {
      const log = recordingLog();
      const connecting = connectAndRun(connection(late, {}), log);
      setTimeout(() => void late.start(), 1_500);
      const r = await connecting;
      expect(r.stdout).toBe('reached');
      expect(r.tries).toBeGreaterThan(1);
      expect(tries(log)[0]).toMatch(
        /^warn: Connect: try 1 to .*127\.0\.0\.1:\d+ failed: connection refused \(ECONNREFUSED\); trying again in 500ms/,
      );
      expect(tries(log)).toHaveLength(r.tries - 1);
      expect(log.lines.at(-1)).toMatch(new RegExp(`Connect: reached .* on try ${r.tries}`));
    } finally {
      await late.dispose();
    }
  });

  it('a reset during key exchange, twice: in on the third try, each reset in the log', async () => {
    const front = await frontListener(sshd.port, ['reset', 'reset', 'pass']);
    try {
      const log = recordingLog();
      const r = await connectAndRun(connection(sshd, { port: String(front.port) }), log);
      expect(r.stdout).toBe('reached');
      expect(r.tries).toBe(3);
      expect(front.connections()).toBe(3);
      expect(tries(log).map((l) => l.replace(/ to .* failed:/, ' failed:').replace(/;.*/, ''))).toEqual([
        'warn: Connect: try 1 failed: connection reset (ECONNRESET)',
        'warn: Connect: try 2 failed: connection reset (ECONNRESET)',
      ]);
    } finally {
      await front.close();
    }
  });

  it('a connection taken but no banner (sshd not up behind it): the try ends at a third of connect-timeout, the next gets in', async () => {
    const front = await frontListener(sshd.port, ['silent', 'pass']);
    try {
      const log = recordingLog();
      const started = Date.now();
      const r = await connectAndRun(connection(sshd, { port: String(front.port), 'connect-timeout': '6s' }), log);
      expect(r.tries).toBe(2);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(tries(log)[0]).toMatch(/try 1 .* failed: no SSH banner or key exchange in time/);
    } finally {
      await front.close();
    }
  });

  it('nothing ever listens: the last error says refused, how many tries and how long, within connect-timeout', async () => {
    const [port] = await freePorts(1);
    const log = recordingLog();
    const started = Date.now();
    const e = await failure(connection(sshd, { port: String(port), 'connect-timeout': '3s' }), log);
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(e).toBeInstanceOf(HostUnreachableError);
    expect(e.message.split('\n')[0]).toBe(
      `Connection refused by 127.0.0.1:${port}: nothing listens for SSH on port ${port}.`,
    );
    expect(e.message).toMatch(
      /\n\(\d+ tries in \d\.\ds, within connect-timeout 3\.0s; the last: connection refused \(ECONNREFUSED\)\)\nFix: /,
    );
    expect(tries(log).length).toBeGreaterThanOrEqual(2);
  });

  it('a port that takes connections but never answers: no SSH answer within connect-timeout, naming the firewall', async () => {
    const front = await frontListener(sshd.port, ['silent']);
    try {
      const log = recordingLog();
      const e = await failure(connection(sshd, { port: String(front.port), 'connect-timeout': '5s' }), log);
      expect(e).toBeInstanceOf(HostUnreachableError);
      expect(e.message.split('\n')[0]).toBe(
        `Host unreachable: no SSH answer from 127.0.0.1:${front.port} within 5s (Timed out while waiting for handshake).`,
      );
      expect(e.message).toMatch(
        /\(2 tries in [45]\.\ds, within connect-timeout 5\.0s; the last: no SSH banner or key exchange in time\)/,
      );
      expect(e.message).toMatch(/Fix: .*security group allows port \d+ from this runner/);
      expect(front.connections()).toBe(2);
    } finally {
      await front.close();
    }
  });

  it.each([
    ['a wrong host key', { 'host-fingerprint': 'other' }, /^Host key mismatch for 127\.0\.0\.1:\d+/],
    [
      'a refused key',
      { 'ssh-key': 'other' },
      /^Authentication refused: 127\.0\.0\.1:\d+ did not accept the key for user/,
    ],
    ['a refused user', { username: 'nobody-here' }, /^Authentication refused: .* for user "nobody-here"/],
  ])('%s is not tried again: one connection, no try in the log', async (_what, over, message) => {
    const front = await frontListener(sshd.port, ['pass']);
    try {
      const log = recordingLog();
      const inputs: Record<string, string> = { ...over, port: String(front.port) };
      if (inputs['host-fingerprint'] === 'other') inputs['host-fingerprint'] = sshd.otherFingerprint;
      if (inputs['ssh-key'] === 'other') inputs['ssh-key'] = sshd.otherKey;
      const e = await failure(connection(sshd, inputs), log);
      expect(e.message).toMatch(message);
      expect(e.message).not.toMatch(/tries in/);
      expect(front.connections()).toBe(1);
      expect(tries(log)).toEqual([]);
    } finally {
      await front.close();
    }
  });
});

describe.skipIf(!HAVE_SSHD || !HAVE_NC)('proxy-command: the connection over a command (real nc)', () => {
  it('nc %h %p carries it; the host key is pinned and checked as over TCP', async () => {
    const log = recordingLog();
    const r = await connectAndRun(connection(sshd, { 'proxy-command': 'nc %h %p' }), log);
    expect(r.stdout).toBe('reached');
    expect(r.detail).toBe(' via proxy command');
    expect(r.remote.hostKey).toMatchObject({ verified: true, fingerprint: sshd.fingerprint });
  });

  it('a wrong host key over the command is refused as a mismatch, not tried again', async () => {
    const log = recordingLog();
    const e = await failure(
      connection(sshd, { 'proxy-command': 'nc %h %p', 'host-fingerprint': sshd.otherFingerprint }),
      log,
    );
    expect(e.message).toMatch(/^Host key mismatch for 127\.0\.0\.1:\d+: the server showed ssh-ed25519 /);
    expect(tries(log)).toEqual([]);
  });

  it('a try that timed out leaves no command behind: the command and what sh started are stopped', async () => {
    // A host that takes the connection and never answers; a command that goes on after nc (as
    // `aws ssm start-session` runs its plugin as a child): stopping sh alone would leave it.
    const front = await frontListener(sshd.port, ['silent']);
    try {
      const settings = connection(sshd, {
        port: String(front.port),
        'proxy-command': `nc %h %p; sleep 30.${front.port}`,
        'connect-timeout': '2s',
      });
      const e = await failure(settings, recordingLog());
      expect(e.message).toMatch(/^Host unreachable: no SSH answer/);
      await new Promise((r) => setTimeout(r, 300));
      const left = spawnSync('pgrep', ['-f', `^(nc 127\\.0\\.0\\.1 ${front.port}|sleep 30\\.${front.port})$`], {
        encoding: 'utf8',
      });
      expect(left.stdout).toBe('');
    } finally {
      await front.close();
    }
  });

  it('a command that exits at once fails with its exit code and its own stderr, not tried again', async () => {
    const log = recordingLog();
    const started = Date.now();
    const e = await failure(
      connection(sshd, {
        'proxy-command': 'echo "An error occurred (TargetNotConnected): %h is not connected." >&2; exit 254',
      }),
      log,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(e.message).toContain(
      'The proxy command `echo "An error occurred (TargetNotConnected): 127.0.0.1 is not connected." >&2; exit 254` exited with code 254 before the SSH connection was up:\nAn error occurred (TargetNotConnected): 127.0.0.1 is not connected.\nFix: ',
    );
    expect(tries(log)).toEqual([]);
  });

  it('the command ending mid-run: the lost connection names how it ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-proxy-'));
    const remote = await RemoteHost.connect(
      // $$ is the command's own sh, which exec turns into nc.
      connection(sshd, { 'proxy-command': `echo $$ > ${dir}/pid; exec nc %h %p` }),
      recordingLog(),
    );
    try {
      expect((await remote.exec('echo up')).stdout).toBe('up\n');
      process.kill(Number(readFileSync(join(dir, 'pid'), 'utf8')), 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      const e = await remote.exec('echo again').then(
        () => new Error('ran'),
        (err: Error) => err,
      );
      expect(e).toBeInstanceOf(ConnectionLostError);
      expect(e.message).toMatch(
        /^The SSH connection to 127\.0\.0\.1:\d+ was lost \(.*; the proxy command was killed by SIGKILL: /,
      );
    } finally {
      remote.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nc to a port where nothing listens: its own words (refused) are in the message', async () => {
    const [port] = await freePorts(1);
    const e = await failure(connection(sshd, { port: String(port), 'proxy-command': 'nc -v %h %p' }), recordingLog());
    expect(e.message).toMatch(
      /^The proxy command `nc -v 127\.0\.0\.1 \d+` exited with code 1 before the SSH connection was up:\nnc: connect to 127\.0\.0\.1 port \d+ \(tcp\) failed: Connection refused/,
    );
  });
});

describe.skipIf(!HAVE_SSHD)('proxy-jump: through a second sshd as the jump host', () => {
  let target: LocalSshd;
  let bastion: LocalSshd;
  beforeAll(async () => {
    target = await localSshd();
    // DEBUG1: its log names each forwarded connection (server_request_direct_tcpip … target … port).
    bastion = await localSshd({ config: ['LogLevel DEBUG1'] });
    await Promise.all([target.start(), bastion.start()]);
  });
  afterAll(async () => {
    await target?.dispose();
    await bastion?.dispose();
  });

  const viaBastion = (over: RawInputs = {}) => ({
    'proxy-jump': `${bastion.user}@127.0.0.1:${bastion.port}`,
    'proxy-jump-ssh-key': bastion.key,
    'proxy-jump-fingerprint': bastion.fingerprint,
    ...over,
  });

  it('the host is reached through the jump host; both keys verified; the jump host forwarded it', async () => {
    const r = await connectAndRun(connection(target, viaBastion()), recordingLog());
    expect(r.stdout).toBe('reached');
    expect(r.detail).toBe(
      ` via jump host ${bastion.user}@127.0.0.1:${bastion.port} (host key ssh-ed25519 ${bastion.fingerprint} verified)`,
    );
    expect(r.remote.hostKey).toMatchObject({ verified: true, fingerprint: target.fingerprint });
    expect(bastion.log()).toMatch(
      new RegExp(`server_request_direct_tcpip: .* target 127\\.0\\.0\\.1 port ${target.port}\\r?\\n`),
    );
  });

  it('a wrong jump host key fails closed naming the jump host and its input; the host is never reached', async () => {
    const front = await frontListener(target.port, ['pass']);
    try {
      const log = recordingLog();
      const e = await failure(
        connection(
          target,
          viaBastion({ port: String(front.port), 'proxy-jump-fingerprint': bastion.otherFingerprint }),
        ),
        log,
      );
      expect(e.message).toMatch(
        new RegExp(
          `^Host key mismatch for jump host 127\\.0\\.0\\.1:${bastion.port}: .* but proxy-jump-fingerprint expects ${escapedFp(bastion.otherFingerprint)}`,
        ),
      );
      expect(front.connections()).toBe(0);
      expect(tries(log)).toEqual([]);
    } finally {
      await front.close();
    }
  });

  it('a jump host with no pin is refused, naming proxy-jump-fingerprint', async () => {
    const e = await failure(connection(target, viaBastion({ 'proxy-jump-fingerprint': '' })), recordingLog());
    expect(e.message).toMatch(
      /^The host key of jump host 127\.0\.0\.1:\d+ is not pinned.*set proxy-jump-fingerprint to it/,
    );
  });

  it('the jump host refusing the key names the jump host and proxy-jump-ssh-key', async () => {
    const e = await failure(connection(target, viaBastion({ 'proxy-jump-ssh-key': bastion.otherKey })), recordingLog());
    expect(e.message).toMatch(
      new RegExp(
        `^Authentication refused: jump host 127\\.0\\.0\\.1:${bastion.port} did not accept the proxy-jump-ssh-key`,
      ),
    );
  });

  it('the host down behind the jump host: tried again while the jump host says refused, then named as that', async () => {
    const [port] = await freePorts(1);
    const log = recordingLog();
    const e = await failure(connection(target, viaBastion({ port: String(port), 'connect-timeout': '3s' })), log);
    expect(e).toBeInstanceOf(HostUnreachableError);
    expect(e.message.split('\n')[0]).toBe(
      `The jump host 127.0.0.1:${bastion.port} could not connect to 127.0.0.1:${port}: Connection refused.`,
    );
    expect(tries(log)[0]).toMatch(/failed: the jump host could not connect onward \(Connection refused\)/);
  });

  it('the engine connects the same way (the CLI exec here; deploy, check and agents share connectStep): tries and route in the Connect step', async () => {
    const front = await frontListener(bastion.port, ['reset', 'pass']);
    try {
      const log = recordingLog();
      const settings = settingsFor(target, viaBastion({ 'proxy-jump': `${bastion.user}@127.0.0.1:${front.port}` }));
      const r = await runExec(settings, log, 'echo via-engine');
      expect(r.stdout).toBe('via-engine\n');
      expect(tries(log)[0]).toMatch(
        /^warn: Connect: try 1 to .* via jump host .* failed: connection reset \(ECONNRESET\)/,
      );
      expect(log.lines.find((l) => l.includes('✓ Connect'))).toMatch(
        new RegExp(
          `✓ Connect: ok in .* via jump host ${bastion.user}@127\\.0\\.0\\.1:${front.port} \\(host key ssh-ed25519 .* verified\\), host key ssh-ed25519 .* verified, on try 2$`,
        ),
      );
    } finally {
      await front.close();
    }
  });

  it('insecure-skip-host-key-check lets an unpinned jump host in only with its own warning, naming proxy-jump-fingerprint', async () => {
    const log = recordingLog();
    const settings = settingsFor(target, {
      'host-fingerprint': '',
      'insecure-skip-host-key-check': 'true',
      ...viaBastion({ 'proxy-jump-fingerprint': '' }),
    });
    await runExec(settings, log, 'true');
    const warnings = log.lines.filter((l) => l.startsWith('warn: insecure-skip-host-key-check'));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `the host key of jump host 127\\.0\\.0\\.1:${bastion.port} was accepted without a pin: .* set proxy-jump-fingerprint: ${escapedFp(bastion.fingerprint)} instead\\.$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `the host key of 127\\.0\\.0\\.1:${target.port} was accepted without a pin: .* set host-fingerprint: ${escapedFp(target.fingerprint)} instead\\.$`,
        ),
      ),
    ]);
    expect(log.lines.find((l) => l.includes('✓ Connect'))).toMatch(
      /via jump host .*NOT verified \(insecure-skip-host-key-check\)\)/,
    );
  });

  it('a jump host that forbids forwarding is named with its fix, not tried again', async () => {
    const strict = await localSshd({ config: ['AllowTcpForwarding no'] });
    await strict.start();
    try {
      const log = recordingLog();
      const e = await failure(
        connection(target, {
          'proxy-jump': `127.0.0.1:${strict.port}`,
          'proxy-jump-ssh-key': strict.key,
          'proxy-jump-fingerprint': strict.fingerprint,
        }),
        log,
      );
      expect(e.message).toMatch(/^The jump host 127\.0\.0\.1:\d+ refused to open a connection to 127\.0\.0\.1:\d+/);
      expect(e.message).toContain('AllowTcpForwarding yes');
      expect(tries(log)).toEqual([]);
    } finally {
      await strict.dispose();
    }
  });
});
