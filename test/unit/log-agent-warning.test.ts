// A deploy that runs Promtail says once that it is end of life, and how to switch.
import { describe, expect, it } from 'vitest';
import { logAgentWarning } from '../../src/engine/deploy';
import { readSettings } from '../../src/settings/settings';

const settings = (raw: Record<string, string>) =>
  readSettings({ 'app-image': 'me/back:1.4.2', ...raw }, { needsConnection: false });

describe('the log agent warning', () => {
  it('Promtail (the default) on the central stack: end of life since 2026-03-02, switch with log-agent: alloy', () => {
    const w = logAgentWarning(settings({}));
    expect(w).toContain('Promtail is end of life since 2026-03-02');
    expect(w).toContain('`log-agent: alloy`');
    expect(w).toContain('starts Alloy where Promtail stopped reading');
  });

  it('none with Alloy, nor when no log agent runs (stacks: app)', () => {
    expect(logAgentWarning(settings({ 'log-agent': 'alloy' }))).toBeUndefined();
    expect(logAgentWarning(settings({ stacks: 'app' }))).toBeUndefined();
  });

  it('an agent host: end of life, and the same switch (agents run Alloy too)', () => {
    const w = logAgentWarning(settings({ role: 'agent' }));
    expect(w).toContain('Promtail is end of life since 2026-03-02');
    expect(w).toContain('Switch to Alloy with the input `log-agent: alloy`');
  });
});
