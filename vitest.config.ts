import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// One alias per tsconfig path, so tests import libraries exactly as the code does (`@berth/oci`).
const paths: Record<string, string[]> = JSON.parse(
  readFileSync(new URL('./tsconfig.base.json', import.meta.url), 'utf8'),
).compilerOptions.paths;
const alias = Object.fromEntries(
  Object.entries(paths).map(([name, [target]]) => [name, resolve(import.meta.dirname, target!)]),
);

// BERTH_TESTS=unit or e2e selects one kind (`*.e2e.test.ts` start the platform or other real
// services): scripts/test runs the two kinds side by side, each in its own vitest.
const kind = process.env.BERTH_TESTS;
if (kind !== undefined && kind !== 'unit' && kind !== 'e2e') throw new Error(`BERTH_TESTS="${kind}": expected unit or e2e`);

export default defineConfig({
  resolve: { alias },
  test: {
    // Relative to --dir: `nx test <project>` runs `vitest run --dir <project root>` (tools/nx/berth-targets.cjs).
    include: kind === 'e2e' ? ['**/*.e2e.test.ts'] : ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '.nx/**', ...(kind === 'unit' ? ['**/*.e2e.test.ts'] : [])],
    // Integration tests start real processes and containers: give them time, and run files one
    // at a time on this 2-core machine so that containers do not starve each other.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
