// Stands in for the SSH connection in unit tests: its tunnel is a plain TCP connection from this
// machine (to the same address and port, or to a local port that `ports` maps them to).
import { connect } from 'node:net';
import type { RemoteHost } from '../../src/connection/ssh';

export function directTunnel(
  ports: Readonly<Record<string, number>> = {},
  seen: string[] = [],
): Pick<RemoteHost, 'tunnel'> {
  return {
    tunnel: (address: string, port: number) =>
      new Promise((ok, fail) => {
        seen.push(`${address}:${port}`);
        const mapped = ports[`${address}:${port}`];
        const sock = connect(mapped ?? port, mapped ? '127.0.0.1' : address, () => ok(sock as never));
        sock.once('error', fail);
      }),
  };
}

/** A RemoteHost that only opens tunnels, directly. */
export const direct = directTunnel() as unknown as RemoteHost;
