import { defineConfig } from 'vitest/config';
import ByName from './test/e2e-sequencer';

export default defineConfig({
  test: {
    // End-to-end files share one sandbox host: they run in name order (01-..., 02-...).
    sequence: { sequencer: ByName },
    projects: [
      {
        // Some unit tests run real tools (promtool, nginx, Compose v1 in Python, the built CLI):
        // seconds each on a busy 2-core machine.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        // End-to-end: a real sshd and Docker engine (test/sandbox). One file at a time: they share
        // one sandbox host.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
