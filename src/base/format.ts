// How durations read in every line a person sees.

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/**
 * Text from a host or an endpoint (an answer's body, a command's output) as part of one line of
 * ours: every run of whitespace, line breaks and carriage returns included, is one space, and it
 * is cut at `max` characters. A line break from outside would start a line of its own in the log.
 */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The first line of text from outside that holds anything, cut at `max` characters. */
export function firstLine(text: string, max: number): string {
  const line = text.split(/\r\n|\r|\n/).find((l) => l.trim()) ?? '';
  return oneLine(line, max);
}

/** A size as people read it: 412 KiB, 1.3 MiB, 2.1 GiB. */
export function formatSize(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
