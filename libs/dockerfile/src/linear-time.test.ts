import { performance } from 'node:perf_hooks';
import { LINEAR_BOUND, linearGrowth } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from './dockerfile-error.js';
import { parseDockerfile } from './instructions.js';
import { parseAndExpand } from './parse-and-expand.js';

/**
 * Generated inputs that used to take quadratic (or exponential) time: a 60 KB first line took
 * 4.5 s, a 200 KB one minutes; `${A#*a*a…b}` never finished. Each case times an input and one 8
 * times larger in CPU time (libs/testing linear-growth.ts) and requires the larger to cost less
 * than 32 times the smaller: linear code stays near 8×, quadratic code near 64×. No absolute
 * timings, except hard caps for inputs that never finished before.
 */

interface Case {
  name: string;
  make: (n: number) => string;
  n: number;
}

const cases: Case[] = [
  { name: 'a long first line that looks like a directive', make: (n) => `# a=x${' '.repeat(n)}y\nFROM a\n`, n: 8_000 },
  { name: 'carriage returns inside a line', make: (n) => `FROM a\nRUN x${'\r'.repeat(n)}y\n`, n: 8_000 },
  { name: 'a long unknown instruction (refused)', make: (n) => `FROM a\n${'A'.repeat(n)} x\n`, n: 8_000 },
  { name: 'a long ENV value', make: (n) => `FROM a\nENV A=${'a'.repeat(n)}\n`, n: 8_000 },
  { name: 'a long suffix trim', make: (n) => `FROM a\nENV A=${'a'.repeat(n)}\nENV B=\${A%%*b} C=\${A#*a}\n`, n: 8_000 },
  { name: 'many ENV lines using the previous one', make: (n) => `FROM a\n${Array.from({ length: n }, (_, i) => `ENV V${i}=\${V${Math.max(i - 1, 0)}:+x}y`).join('\n')}\n`, n: 2_500 },
  { name: 'many continuation lines', make: (n) => `FROM a\nRUN echo \\\n${'  a \\\n'.repeat(n)}  b\n`, n: 20_000 },
  { name: 'many heredocs', make: (n) => `FROM a\n${'RUN <<A <<B\na\nA\nb\nB\n'.repeat(n)}`, n: 1_000 },
  { name: 'many deeply nested defaults', make: (n) => `FROM a\n${`ENV A=${'${A:-'.repeat(100)}x${'}'.repeat(100)}\n`.repeat(n)}`, n: 200 },
];

describe('parsing and expansion take linear time', () => {
  for (const c of cases) {
    it(c.name, () => {
      const g = linearGrowth(parseAndExpand, c.make, c.n, (err) => err instanceof DockerfileError);
      expect(g.large, g.message).toBeLessThan(g.small * LINEAR_BOUND);
    });
  }

  it('finishes a pattern that used to backtrack forever within 2 s', () => {
    const start = performance.now();
    parseAndExpand(`FROM a\nENV A=${'a'.repeat(2000)}\nENV B=\${A#${'*a'.repeat(20)}b} C=\${A%%${'*a'.repeat(20)}}\n`);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('refuses a 200 KB line at once, naming the line', () => {
    const start = performance.now();
    expect(() => parseDockerfile(`FROM a\nRUN echo ${'a'.repeat(200_000)}\n`)).toThrow(
      'dockerfile parse error on line 2: dockerfile line greater than max allowed size of 65535',
    );
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
