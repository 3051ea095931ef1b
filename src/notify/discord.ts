// Posting one message to a Discord webhook, politely: a 429 is retried after the time Discord
// asks for, a 5xx or a network error a few times with backoff, any other 4xx not at all. The
// outcome is returned, never thrown: a webhook problem must not hide the check's own result.

import { oneLine } from '../base/format.js';

export interface Delivery {
  readonly delivered: boolean;
  readonly attempts: number;
  /** Why it was not delivered (status and Discord's message), or undefined. */
  readonly error?: string;
}

export interface PostOptions {
  readonly maxAttempts?: number;
  /** Longest wait for a 429's retry-after; a longer one is not waited for. */
  readonly maxWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly timeoutMs?: number;
}

/** Discord rejects a message content longer than 2000 characters. */
export const DISCORD_MAX_CONTENT = 2000;

export function discordPayload(content: string): string {
  const text = content.length > DISCORD_MAX_CONTENT ? `${content.slice(0, DISCORD_MAX_CONTENT - 1)}…` : content;
  // No @everyone / role pings from text we did not write (a container's error message).
  return JSON.stringify({ username: 'monitoring-deploy', content: text, allowed_mentions: { parse: [] } });
}

/** Seconds to wait from a 429: the Retry-After header, or the JSON body's retry_after. */
export function retryAfterMs(headers: Headers, body: string): number | undefined {
  const header = Number(headers.get('retry-after'));
  if (Number.isFinite(header) && header >= 0 && headers.get('retry-after') !== null) return Math.ceil(header * 1000);
  try {
    const fromBody = Number((JSON.parse(body) as { retry_after?: unknown }).retry_after);
    if (Number.isFinite(fromBody) && fromBody >= 0) return Math.ceil(fromBody * 1000);
  } catch {}
  return undefined;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function postToDiscord(webhookUrl: string, content: string, options: PostOptions = {}): Promise<Delivery> {
  const maxAttempts = options.maxAttempts ?? 4;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  let error = '';
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let wait: number;
    try {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: discordPayload(content),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const body = await res.text();
      if (res.ok) return { delivered: true, attempts: attempt };
      error = `the webhook answered ${res.status}${discordMessage(body)}`;
      if (res.status === 429) {
        wait = retryAfterMs(res.headers, body) ?? 1_000 * attempt;
        if (wait > maxWaitMs) return { delivered: false, attempts: attempt, error: `${error}; retry-after too long` };
      } else if (res.status >= 500) {
        wait = 1_000 * 2 ** (attempt - 1);
      } else {
        return { delivered: false, attempts: attempt, error: `${error}${hintFor(res.status)}` };
      }
    } catch (e) {
      error = `the webhook could not be reached: ${(e as Error).message}`;
      wait = 1_000 * 2 ** (attempt - 1);
    }
    if (attempt < maxAttempts) await sleep(wait);
  }
  return { delivered: false, attempts: maxAttempts, error };
}

function discordMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    return typeof m === 'string' && m ? ` (${oneLine(m, 120)})` : '';
  } catch {
    return '';
  }
}

function hintFor(status: number): string {
  if (status === 401 || status === 404)
    return '. Fix: the webhook was deleted or the URL is wrong; paste a new one into the secret.';
  if (status === 400) return '. Fix: Discord refused the message; report this as a bug.';
  return '';
}
