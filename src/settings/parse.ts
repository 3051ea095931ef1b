// Small parsers for input values. Each throws an Error whose message names the fix.

// Numbers are decimal whole numbers only: no 0x1, 1e1, 2.5, +5 or -0 (Number() takes them all).
const WHOLE = /^[0-9]+$/;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** 600000 -> "10m": a limit as a person writes it. */
function formatLimit(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit] ?? 1;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

/**
 * "30s", "2m", "1h", "1500ms", or a bare number of seconds -> milliseconds, within range (which
 * keeps it below what Node's timers hold, 2^31-1 ms). Whole numbers only: 90s, not 1.5m.
 */
export function parseDuration(value: string, input: string, range: Range): number {
  const limits = `${formatLimit(range.min)} to ${formatLimit(range.max)}`;
  const m = /^\s*([0-9]+)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m?.[1])
    throw new Error(
      `${input}: "${value}" is not a duration; use a whole number with a unit, e.g. 30s, 2m or 1h (${limits})`,
    );
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000);
  if (!(ms >= range.min && ms <= range.max)) throw new Error(`${input}: "${value}" is out of range; use ${limits}`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A size limit in the largest binary unit that divides it: 64G, 1M. */
function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const size = SIZE_UNITS[unit] ?? 1;
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** "2G", "512M", "512MiB", "0" -> bytes (binary units, as fallocate/dd read them): 0, or within range. */
export function parseSize(value: string, input: string, range: Range): number {
  const limits = `0 (leave swap alone) or ${formatSize(range.min)} to ${formatSize(range.max)}`;
  const m = /^\s*([0-9]+)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
  if (!m?.[1])
    throw new Error(`${input}: "${value}" is not a size; use a whole number with a unit, e.g. 2G or 512M (${limits})`);
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1);
  if (bytes !== 0 && !(bytes >= range.min && bytes <= range.max))
    throw new Error(`${input}: "${value}" is out of range; use ${limits}`);
  return bytes;
}

export function parseBoolean(value: string, input: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new Error(`${input}: "${value}" is not true or false`);
}

export function parsePort(value: string, input: string): number {
  const v = value.trim();
  const n = WHOLE.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`${input}: "${value}" is not a port (1-65535)`);
  return n;
}

/** A decimal whole number from min to max. */
export function parseInteger(value: string, input: string, min: number, max: number): number {
  const v = value.trim();
  const n = WHOLE.test(v) ? Number(v) : Number.NaN;
  if (!(n >= min && n <= max)) throw new Error(`${input}: "${value}" is not a whole number from ${min} to ${max}`);
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

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
