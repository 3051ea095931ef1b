import { describe, expect, it } from 'vitest';
import { redactingLog } from '../../src/base/log';
import { Steps } from '../../src/report/steps';
import { liveTerminalLog, stepLine } from '../../src/report/terminal';
import { screen } from '../helpers/terminal';

function fakeTerminal(columns = 100) {
  const chunks: string[] = [];
  return { chunks, stream: { columns, write: (c: string) => chunks.push(c) } };
}

describe('live step display', () => {
  it('shows the running step with a clock, then replaces it by its final line', async () => {
    const { chunks, stream } = fakeTerminal();
    let t = 1_000;
    const log = liveTerminalLog(stream, { tickMs: 5, now: () => t });
    const steps = new Steps(log);
    let during: string[] = [];
    await steps.run('Upload', async () => {
      t += 2_500;
      await new Promise((r) => setTimeout(r, 30));
      during = screen(chunks);
      log.info('uploading 3 files');
      return { changed: true, detail: '3 file(s) written' };
    });
    // While it ran, the last line was the live one, with the elapsed time.
    expect(during.at(-1)).toMatch(/^\S Upload\s+running\s+2\.5s$/);
    const shown = screen(chunks);
    expect(shown).toEqual([
      'uploading 3 files',
      expect.stringMatching(/^✓ Upload\s+changed\s+\d+ms {2}3 file\(s\) written$/),
      '',
    ]);
  });

  it('marks a failed step and keeps its first error line', async () => {
    const { chunks, stream } = fakeTerminal();
    const steps = new Steps(liveTerminalLog(stream, { now: () => 0 }));
    await expect(
      steps.run('Health gate', async () => {
        throw new Error('Loki is not ready\nmore');
      }),
    ).rejects.toThrow();
    expect(screen(chunks)[0]).toMatch(/^✗ Health gate\s+failed\s+\d+ms {2}Loki is not ready$/);
  });

  it('keeps the status in line at 80 columns, a long step name cut short', () => {
    const lines = [
      stepLine(
        { name: 'Rollback to 0123456789ab and then some more', status: 'failed', durationMs: 1200, detail: 'x' },
        79,
      ),
      stepLine({ name: 'Swap', status: 'unchanged', durationMs: 3, detail: 'y'.repeat(100) }, 79),
    ];
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(79);
    expect(lines[0]).toMatch(/^✗ Rollback to 0123456789ab an… failed /);
    // The status starts at the same column on every line.
    expect(lines.map((l) => l.search(/ (failed|unchanged) /))).toEqual([30, 30]);
  });

  it('cuts lines to the terminal width', () => {
    const line = stepLine({ name: 'Upload', status: 'changed', durationMs: 1200, detail: 'x'.repeat(200) }, 60);
    expect(line).toHaveLength(60);
    expect(line.endsWith('…')).toBe(true);
  });

  it('redacts secrets in step names and details, and keeps the live display', async () => {
    const { chunks, stream } = fakeTerminal();
    const log = redactingLog(liveTerminalLog(stream, { now: () => 0 }), ['hunter2-secret']);
    await new Steps(log).run('Connect hunter2-secret', async () => ({ detail: 'key hunter2-secret' }));
    const text = screen(chunks).join('\n');
    expect(text).not.toContain('hunter2-secret');
    expect(text).toMatch(/✓ Connect \*\*\*\s+ok/);
  });

  it('without a live display, each step is two plain lines', async () => {
    const lines: string[] = [];
    await new Steps({ info: (l) => lines.push(l), warn: () => {}, error: () => {} }).run('Swap', async () => ({
      changed: false,
    }));
    expect(lines[0]).toBe('▶ Swap');
    expect(lines[1]).toMatch(/^✓ Swap: unchanged in \d+ms$/);
  });
});
