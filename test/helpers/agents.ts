// The agent hosts that test/sandbox/agent-up.sh brought up (network namespaces with their own
// engine and sshd), as the tests see them.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { sandboxInputs } from './deploy';
import type { Sandbox } from './sandbox';

export interface AgentHost {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly fingerprint: string;
  readonly dockerHost: string;
  readonly netns: string;
  /** The main sandbox host's address as seen from this agent. */
  readonly centralAddress: string;
}

const SANDBOX_DIR = process.env.SANDBOX_DIR ?? '/var/tmp/monitoring-deploy-sandbox';

export function loadAgent(name: string): AgentHost {
  const file = `${SANDBOX_DIR}/agents/${name}/agent.env`;
  if (!existsSync(file)) {
    throw new Error(
      `No agent host ${name}: ${file} is missing. Bring it up: sudo bash test/sandbox/agent-up.sh ${name} N`,
    );
  }
  const env = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    name: env.AGENT_NAME ?? name,
    host: env.AGENT_HOST ?? '',
    port: Number(env.AGENT_PORT),
    user: env.AGENT_USER ?? '',
    home: env.AGENT_HOME ?? '',
    fingerprint: env.AGENT_FINGERPRINT ?? '',
    dockerHost: env.AGENT_DOCKER_HOST ?? '',
    netns: env.AGENT_NETNS ?? '',
    centralAddress: env.AGENT_CENTRAL_ADDRESS ?? '',
  };
}

/** docker against the agent host's own engine. */
export function agentDocker(a: AgentHost, ...args: string[]): string {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: a.dockerHost },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** The hosts input line for an agent. */
export function agentLine(a: AgentHost): string {
  return `name=${a.name} role=agent host=${a.host} port=${a.port} user=${a.user} fingerprint=${a.fingerprint}`;
}

/**
 * The action's inputs for an agent deployed on its own (role agent, named after its host): the
 * sandbox's images and key, no swap (the hosts share this machine's kernel), and `over`.
 */
export function agentAloneInputs(s: Sandbox, a: AgentHost, over: Record<string, string>): Record<string, string> {
  return sandboxInputs(s, {
    host: a.host,
    port: String(a.port),
    username: a.user,
    'host-fingerprint': a.fingerprint,
    'host-name': a.name,
    role: 'agent',
    'swap-size': '0',
    ...over,
  });
}

/** The sandbox's images input plus the receiver (real nginx, as the app's). */
export function imagesWithReceiver(s: Sandbox): string {
  const nginx = /^nginx=(.+)$/m.exec(s.images)?.[1];
  return `${s.images.trim()}\nreceiver=${nginx}`;
}

/** The hosts input line for the main sandbox host as the central monitoring host `central`. */
export function centralLine(s: Sandbox, a: AgentHost): string {
  return `name=central role=monitoring host=${s.host} port=${s.port} user=${s.user} fingerprint=${s.fingerprint} address=${a.centralAddress}`;
}

/** One run deploying the central stack (named `central`) and the agent, which pushes with `pushPassword`. */
export function fleetInputs(
  s: Sandbox,
  a: AgentHost,
  pushPassword: string,
  over: Record<string, string> = {},
): Record<string, string> {
  return sandboxInputs(s, {
    hosts: `${centralLine(s, a)}\n${agentLine(a)}`,
    images: imagesWithReceiver(s),
    'push-password': pushPassword,
    // Both "hosts" share this machine's kernel: swap is one host's business, not the agent's.
    'swap-size': '0',
    'health-timeout': '150s',
    ...over,
  });
}
