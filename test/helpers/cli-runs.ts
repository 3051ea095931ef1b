// What the bad-input tests of the built CLI share: a deploy with good flags to a closed port,
// what "it went on to connect" looks like, and running many rows at once.
import { availableParallelism } from 'node:os';
import { deployToClosedPort, type RunResult, runCli } from './dist';

/** Good values for every flag a deploy needs, the key read from keyFile; port 9 is closed. */
export function goodDeployFlags(keyFile: string): string[] {
  return [...deployToClosedPort(keyFile), '--app-image', 'me/app:1', '--connect-timeout', '2s'];
}

/** What a run that went on to connect prints: step lines, the refused connection. */
export const CONNECTING = /▶|Connect\b|Connection refused|ECONNREFUSED|Host unreachable|connected to/;

/** Each row's result by its name: the CLI with base then the row's flags, several at a time (each is a Node process). */
export async function runRows(
  rows: readonly (readonly [string, readonly string[], ...unknown[]])[],
  base: readonly string[],
): Promise<Map<string, RunResult>> {
  const results = new Map<string, RunResult>();
  const queue = [...rows];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift())
      results.set(row[0], await runCli([...base, ...row[1]], {}, 60_000));
  };
  await Promise.all(Array.from({ length: Math.max(4, availableParallelism()) }, worker));
  return results;
}
