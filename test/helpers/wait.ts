// Waiting in tests for what the host does on its own time (a log line read, a file removed): look
// every second until the answer is there, and at the deadline fail saying what was awaited and
// what was seen last, rather than asserting on a first look.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until fn returns a value (not undefined), or gives up after the deadline with the last
 * error and, if given, `seen()`: what the last look found.
 */
export async function until<T>(
  what: string,
  seconds: number,
  fn: () => T | undefined | Promise<T | undefined>,
  seen?: () => string,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const found = seen?.();
      throw new Error(
        `gave up after ${seconds}s waiting for ${what}${last ? `: ${last}` : ''}${found ? `; last seen: ${found}` : ''}`,
      );
    }
    await sleep(1000);
  }
}
