// Reaching the host: directly over TCP, over a proxy command's stdin and stdout, or through a
// jump host's channel; each way with the host's key pinned and checked the same, and tried
// again within connect-timeout while the failure is one that passes (tries.ts).
import type { Duplex } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import type { Log } from '../base/log.js';
import { DeployError } from '../errors.js';
import type { ConnectionSettings } from '../settings/settings.js';
import { failedTry, HOST_SIDE, type TryProgress } from './connect-errors.js';
import { handshake } from './handshake.js';
import { HOST_PIN, type HostKeyDecision, hostKeyDetail, JUMP_PIN, unverifiedHostKeyWarning } from './host-key.js';
import { type JumpRoute, openJump } from './jump.js';
import { describeExit, expandProxyCommand, type ProxyProcess, startProxyCommand, stderrTail } from './proxy-command.js';
import { FailedTry, type RawFailure, transientCause, withTries } from './tries.js';

/** The way a connection went: what carries it, to close with it. */
export interface Route {
  /** What ssh2 talks over instead of its own TCP socket; undefined when direct. */
  readonly sock?: Duplex;
  readonly proxy?: ProxyProcess;
  readonly jump?: JumpRoute;
  close(): void;
}

/** A connection that got through: the client, the host key decision, its route, and the try it took. */
export interface Reached {
  readonly ssh: NodeSSH;
  readonly hostKey: HostKeyDecision;
  readonly route: Route;
  readonly tries: number;
}

/** Connects as the settings say, trying again within connect-timeout while failures pass; each failed try is logged. */
export async function reach(settings: ConnectionSettings, log?: Log): Promise<Reached> {
  const { value, tries } = await withTries(
    { budgetMs: settings.connectTimeoutMs, where: routeName(settings), log },
    (endsAt) => tryOnce(settings, endsAt),
  );
  return { ...value, tries };
}

/** "ec2-user@10.0.1.5:22 via jump host ec2-user@bastion:22", as the log names a try. */
export function routeName(s: ConnectionSettings): string {
  const target = `${s.username}@${s.host}:${s.port}`;
  if (s.jump) return `${target} via jump host ${s.jump.username}@${s.jump.host}:${s.jump.port}`;
  return s.proxyCommand ? `${target} via proxy command` : target;
}

/** One try: the route, then the host's handshake over it, all by `endsAt`. */
async function tryOnce(settings: ConnectionSettings, endsAt: number): Promise<Omit<Reached, 'tries'>> {
  const route = await openRoute(settings, endsAt);
  const { ssh, progress, failure } = await handshake(settings, HOST_PIN, endsAt, route.sock);
  if (failure || !progress.decision) {
    const raw = failure ?? { message: 'the connection closed at once' };
    const routeFailed = await routeFailure(route, progress, raw);
    route.close();
    throw routeFailed ?? failedTry(raw, { ...settings, side: HOST_SIDE }, progress);
  }
  return { ssh, hostKey: progress.decision, route };
}

async function openRoute(settings: ConnectionSettings, endsAt: number): Promise<Route> {
  if (settings.jump) {
    const jump = await openJump(settings.jump, settings, endsAt);
    return { sock: jump.channel, jump, close: () => jump.close() };
  }
  if (settings.proxyCommand) {
    const proxy = startProxyCommand(expandProxyCommand(settings.proxyCommand, settings));
    return { sock: proxy.sock, proxy, close: () => proxy.stop() };
  }
  return { close: () => undefined };
}

/**
 * When the route itself failed under the handshake: the proxy command ended (its stderr says
 * why; not tried again: what it met is its own to retry), or the jump host's connection went.
 * A refused host key is the host's, whatever the route did after it.
 */
async function routeFailure(route: Route, progress: TryProgress, failure: RawFailure): Promise<FailedTry | undefined> {
  if (progress.decision && !progress.decision.accepted) return undefined;
  // A handshake that timed out closed the command's pipes itself: an exit after that is not why.
  const timedOut = /Timed out/i.test(failure.message ?? '');
  const exit = route.proxy?.exitedSoFar() ?? (timedOut ? undefined : await route.proxy?.ended(500));
  if (route.proxy && exit)
    return new FailedTry(
      new DeployError(
        `The proxy command \`${route.proxy.command}\` ${describeExit(exit)} before the SSH connection was up:\n${stderrTail(exit)}`,
        "run the command by hand on the runner to see it work (it must connect stdin and stdout to the host's sshd), and check proxy-command.",
      ),
    );
  const lost = route.jump?.lost();
  if (lost)
    return new FailedTry(
      new DeployError(`The connection to the jump host was lost while reaching the host: ${lost.message}`),
      transientCause(lost as RawFailure, true),
    );
  return undefined;
}

/** How the Connect step tells the way it went: the jump host and its key, or the proxy command. */
export function routeDetail(settings: ConnectionSettings, route: Route): string {
  const { jump } = settings;
  if (jump && route.jump)
    return ` via jump host ${jump.username}@${jump.host}:${jump.port} (${hostKeyDetail(route.jump.hostKey)})`;
  return route.proxy ? ' via proxy command' : '';
}

/** What to warn about the route: a jump host let in without a pin. */
export function routeWarnings(settings: ConnectionSettings, route: Route): string[] {
  const { jump } = settings;
  if (!jump || !route.jump) return [];
  const w = unverifiedHostKeyWarning(jump.host, jump.port, route.jump.hostKey, JUMP_PIN);
  return w ? [w] : [];
}

/** What the route says of a lost connection: the proxy command's end, or the jump host's loss. */
export function routeLoss(route: Route): string {
  const exit = route.proxy?.exitedSoFar();
  if (exit) return `; the proxy command ${describeExit(exit)}: ${stderrTail(exit, 3).replace(/\n/g, ' | ')}`;
  const lost = route.jump?.lost();
  return lost ? `; the jump host's connection: ${lost.message}` : '';
}
