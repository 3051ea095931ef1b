// Small parsers for input values. Each throws an Error whose message names the fix.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "2m", "1h", "500ms", or a bare number of seconds -> milliseconds. */
export function parseDuration(value: string, input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m?.[1]) throw new Error(`${input}: "${value}" is not a duration; use e.g. 30s, 2m or 1h`);
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000);
  if (ms <= 0) throw new Error(`${input}: must be greater than zero`);
  return Math.round(ms);
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "2G", "512M", "0" -> bytes (binary units, as fallocate/dd read them). */
export function parseSize(value: string, input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
  if (!m?.[1]) throw new Error(`${input}: "${value}" is not a size; use e.g. 2G, 512M, or 0`);
  return Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1));
}

export function parseBoolean(value: string, input: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new Error(`${input}: "${value}" is not true or false`);
}

export function parsePort(value: string, input: string): number {
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${input}: "${value}" is not a port (1-65535)`);
  return n;
}

export function parseNumber(value: string, input: string, min: number, max: number): number {
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${input}: "${value}" is not a number from ${min} to ${max}`);
  return n;
}

export function parseChoice<T extends string>(value: string, input: string, choices: readonly T[]): T {
  const v = value.trim() as T;
  if (!choices.includes(v)) throw new Error(`${input}: "${value}" is not one of ${choices.join(', ')}`);
  return v;
}

/** Items separated by newlines and/or commas, trimmed, empties dropped. */
export function parseList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Lines `service=image`; blank lines and # comments ignored. */
export function parseImageOverrides(value: string, input: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of value.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z0-9][a-z0-9_.-]*)\s*=\s*(\S+)$/i.exec(line);
    if (!m?.[1] || !m[2]) throw new Error(`${input}: "${line}" is not service=image`);
    out[m[1]] = m[2];
  }
  return out;
}
