// What a terminal would show after a stream of writes: `\r` + erase-line rewrites the current
// line, `\n` (or a pty's `\r\n`) starts the next one.
const ESC = String.fromCharCode(27);
const COLORS = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
const ERASE_OR_NEWLINE = new RegExp(`(\r${ESC}\\[2K|\r?\n)`);

export function screen(chunks: readonly string[] | string): string[] {
  const lines: string[] = [''];
  for (const chunk of typeof chunks === 'string' ? [chunks] : chunks) {
    for (const part of chunk.replace(COLORS, '').split(ERASE_OR_NEWLINE)) {
      if (part === '\n' || part === '\r\n') lines.push('');
      else if (part === `\r${ESC}[2K`) lines[lines.length - 1] = '';
      else lines[lines.length - 1] += part;
    }
  }
  return lines;
}
