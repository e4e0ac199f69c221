import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildHarness } from './test-support.js';

/**
 * Builds whose cost grew with the square of their metadata steps: every step rebuilt the stage's
 * whole environment and hashed the whole config into its cache key, so 1,250 / 2,500 / 5,000 ENV
 * lines took 0.48 / 1.8 / 7.4 s. Each case builds a Dockerfile of n and of 8n such lines (best of
 * three, interference only ever adds time) and requires the larger to cost less than 24 times the
 * smaller: linear code stays near 8× (less: each build has a fixed part), quadratic code near 64×.
 * Relative timings only, like libs/dockerfile's linear-time.test.ts.
 */

let h: BuildHarness;

beforeAll(async () => {
  h = await BuildHarness.open();
});

afterAll(async () => {
  await h?.close();
});

const k = 8;
const bound = 24;

async function bestOf3(dockerfile: string): Promise<number> {
  const dir = await h.context({ Dockerfile: dockerfile });
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await h.build(dir);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

const lines = (n: number, line: (i: number) => string) => `FROM busybox\n${Array.from({ length: n }, (_, i) => line(i)).join('\n')}\n`;

const cases: Array<{ name: string; make: (n: number) => string; n: number }> = [
  { name: 'many ENV lines, each using the one before', make: (n) => lines(n, (i) => `ENV V${i}=\${V${Math.max(i - 1, 0)}:+x}y`), n: 500 },
  { name: 'many ENV lines setting the same few names', make: (n) => lines(n, (i) => `ENV A${i % 4}=${i}`), n: 500 },
  { name: 'many ARG and LABEL lines', make: (n) => lines(n, (i) => (i % 2 ? `ARG A${i}=${i}` : `LABEL l${i}=$A${i - 1}`)), n: 500 },
  { name: 'many EXPOSE and VOLUME lines', make: (n) => lines(n, (i) => (i % 2 ? `EXPOSE ${1000 + i}` : `VOLUME /v${i}`)), n: 500 },
];

describe('builds take time linear in their metadata steps', () => {
  for (const c of cases) {
    it(c.name, async () => {
      await bestOf3(c.make(c.n)); // warm up the JIT
      const tSmall = Math.max(await bestOf3(c.make(c.n)), 20); // below 20 ms, timer and GC noise dominate
      const tLarge = await bestOf3(c.make(c.n * k));
      expect(tLarge, `${c.n} → ${tSmall.toFixed(0)} ms, ${c.n * k} → ${tLarge.toFixed(0)} ms`).toBeLessThan(tSmall * bound);
    }, 120_000);
  }

  it('keeps the last value of a name set again, in its first place (as Docker)', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nENV A=1 B=2\nENV A=3\nENV C=$A$B\n' });
    const { imageId } = await h.build(dir);
    const image = await h.images.resolve(imageId);
    expect(image.config.config?.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=3', 'B=2', 'C=32']);
  });
});
