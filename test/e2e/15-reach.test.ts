// A host that is not open: one in its own network namespace whose only link goes to a second
// host, the bastion (test/sandbox/agent-up.sh --behind); nothing else reaches its sshd. A deploy
// through the bastion (proxy-jump) goes green, a redeploy over a proxy command (nc run in the
// bastion's namespace, as SSM's command runs elsewhere) too, the watchdog check goes the same
// way; a wrong bastion key fails closed naming the bastion. On the main sandbox host: a port
// that refuses, then resets, then passes to sshd is tried until it gets through, each try in
// the log; a wrong host key is not tried again.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentHost, agentDocker, loadAgent } from '../helpers/agents';
import { deployWithAction, sandboxInputs } from '../helpers/deploy';
import { frontListener } from '../helpers/local-sshd';
import { freePorts } from '../helpers/realbin';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

const SCRIPTS = resolve(__dirname, '../sandbox');
const SANDBOX_DIR = process.env.SANDBOX_DIR ?? '/var/tmp/monitoring-deploy-sandbox';
const INNER = 'inner';

let s: Sandbox;
let bastion: AgentHost;
let inner: AgentHost;

beforeAll(() => {
  s = loadSandbox();
  bastion = loadAgent('agent1');
  execFileSync('bash', [`${SCRIPTS}/agent-up.sh`, INNER, '3', '--behind', bastion.name], { stdio: 'inherit' });
  inner = loadAgent(INNER);
});
afterAll(() => {
  execFileSync('bash', [`${SCRIPTS}/agent-down.sh`, INNER], { stdio: 'inherit' });
});

const sshdLog = (a: AgentHost) => readFileSync(`${SANDBOX_DIR}/agents/${a.name}/sshd.log`, 'utf8');
const logins = (a: AgentHost) =>
  sshdLog(a)
    .split('\n')
    .filter((l) => l.startsWith('Accepted publickey')).length;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A deploy of the full stack to the host behind the bastion, through it. */
function innerInputs(over: Record<string, string> = {}) {
  return sandboxInputs(s, {
    host: inner.host,
    port: String(inner.port),
    username: inner.user,
    'host-fingerprint': inner.fingerprint,
    'host-name': INNER,
    // The hosts share this machine's kernel: swap is the main host's business.
    'swap-size': '0',
    'proxy-jump': `${bastion.user}@${bastion.host}:${bastion.port}`,
    'proxy-jump-fingerprint': bastion.fingerprint,
    ...over,
  });
}

describe('a host behind a jump host', () => {
  it('is reachable from the bastion only: a direct connection gets no SSH answer', async () => {
    execFileSync('ip', ['netns', 'exec', bastion.netns, 'nc', '-z', '-w', '3', inner.host, String(inner.port)]);
    const r = await deployWithAction(innerInputs({ 'proxy-jump': '', 'connect-timeout': '3s' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Host unreachable');
    expect(r.stdout).toContain(`${inner.host}:${inner.port}`);
  });

  it('a deploy through the jump host goes green; both host keys verified', async () => {
    const before = logins(bastion);
    const r = await deployWithAction(innerInputs());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `✓ Connect: ok in .* — ${inner.user}@${escaped(inner.host)}:22 via jump host ${bastion.user}@${escaped(bastion.host)}:22 \\(host key ssh-ed25519 ${escaped(bastion.fingerprint)} verified\\), host key ssh-ed25519 ${escaped(inner.fingerprint)} verified`,
      ),
    );
    expect(r.outputs.changed).toBe('true');
    expect(logins(bastion)).toBeGreaterThan(before);
    // The stack runs on the host behind, in its own engine.
    expect(agentDocker(inner, 'ps', '--format', '{{.Names}}').split('\n')).toEqual(
      expect.arrayContaining(['prometheus', 'loki', 'grafana']),
    );
  });

  it('a redeploy over a proxy command (nc in the bastion’s network) goes green and changes nothing', async () => {
    const r = await deployWithAction(
      innerInputs({ 'proxy-jump': '', 'proxy-command': `ip netns exec ${bastion.netns} nc %h %p` }),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ Connect: ok in .* via proxy command, host key ssh-ed25519 .* verified/);
    expect(r.outputs.changed).toBe('false');
  });

  it('the watchdog check goes through the jump host too', async () => {
    const r = await deployWithAction(innerInputs({ command: 'check', 'health-timeout': '60s' }));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ Connect: ok in .* via jump host /);
  });

  it('a wrong jump host key fails closed, naming the bastion; the host is never reached', async () => {
    const [bastionBefore, innerBefore] = [logins(bastion), logins(inner)];
    const r = await deployWithAction(innerInputs({ 'proxy-jump-fingerprint': s.fingerprint }));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `Host key mismatch for jump host ${bastion.host}:22: the server showed ssh-ed25519 ${bastion.fingerprint}, but proxy-jump-fingerprint expects ${s.fingerprint}.`,
    );
    expect(r.stdout).not.toMatch(/Connect: try \d/);
    expect([logins(bastion), logins(inner)]).toEqual([bastionBefore, innerBefore]);
  });

  it('a proxy command that exits at once fails with its own stderr, not tried again', async () => {
    const r = await deployWithAction(
      innerInputs({ 'proxy-jump': '', 'proxy-command': 'echo "bastion-gateway: access denied for %r" >&2; exit 3' }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('exited with code 3 before the SSH connection was up:');
    expect(r.stdout).toContain(`bastion-gateway: access denied for ${inner.user}`);
    expect(r.stdout).not.toMatch(/Connect: try \d/);
  });
});

describe('tries on the main sandbox host', () => {
  it('a port that refuses, then resets during key exchange, then passes: green after the tries, each in the log', async () => {
    const [port = 0] = await freePorts(1);
    let front: Awaited<ReturnType<typeof frontListener>> | undefined;
    // Nothing listens for the first 2 s (refused), then the first connection is reset.
    const opening = new Promise<void>((ok) =>
      setTimeout(async () => {
        front = await frontListener(s.port, ['reset', 'pass'], port);
        ok();
      }, 2_000),
    );
    try {
      const r = await deployWithAction(sandboxInputs(s, { port: String(port), 'connect-timeout': '30s' }));
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const tries = r.stdout.split('\n').filter((l) => /Connect: try \d+ to /.test(l));
      expect(tries[0]).toMatch(
        new RegExp(`Connect: try 1 to ${s.user}@127\\.0\\.0\\.1:${port} failed: connection refused \\(ECONNREFUSED\\)`),
      );
      expect(tries.at(-1)).toMatch(/failed: connection reset \(ECONNRESET\)/);
      expect(r.stdout).toMatch(new RegExp(`✓ Connect: ok in .* verified, on try ${tries.length + 1}`));
    } finally {
      await opening;
      await front?.close();
    }
  });

  it('a wrong host key is not tried again: one connection, no try in the log', async () => {
    const front = await frontListener(s.port, ['pass']);
    try {
      const r = await deployWithAction(
        sandboxInputs(s, { port: String(front.port), 'host-fingerprint': inner.fingerprint }),
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`Host key mismatch for 127.0.0.1:${front.port}`);
      expect(r.stdout).not.toMatch(/Connect: try \d/);
      expect(front.connections()).toBe(1);
    } finally {
      await front.close();
    }
  });
});
