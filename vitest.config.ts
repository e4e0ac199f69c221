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

const e2eWorkers = Number(process.env.BERTH_E2E_WORKERS ?? 2);
if (!Number.isInteger(e2eWorkers) || e2eWorkers < 1) throw new Error(`BERTH_E2E_WORKERS="${process.env.BERTH_E2E_WORKERS}": expected a whole number ≥ 1`);

export default defineConfig({
  resolve: { alias },
  test: {
    // Relative to --dir: `nx test <project>` runs `vitest run --dir <project root>` (tools/nx/berth-targets.cjs).
    include: kind === 'e2e' ? ['**/*.e2e.test.ts'] : ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '.nx/**', ...(kind === 'unit' ? ['**/*.e2e.test.ts'] : [])],
    // Integration tests start real processes and containers: give them time. Unit files run one at
    // a time; e2e files two at a time (BERTH_E2E_WORKERS): most of an e2e file's time is spent
    // waiting on processes, TTLs and containers it started, not on the CPU.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    ...(kind === 'e2e' ? { fileParallelism: true, maxWorkers: e2eWorkers } : { fileParallelism: false }),
    pool: 'forks',
  },
});
