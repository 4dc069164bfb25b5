import { defineConfig } from 'vitest/config';

// Three tiers, chosen by file name: *.test.ts (unit: temp root, recording runner),
// *.integration.test.ts (root, real Debian services on loopback), *.browser.test.ts (chromium).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'plugins/*/test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/*.browser.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts', 'plugins/*/test/**/*.integration.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts', 'plugins/*/test/**/*.browser.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
