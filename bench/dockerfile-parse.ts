/**
 * `npx tsx bench/dockerfile-parse.ts [--scale N] [--only NAME]`: time @berth/dockerfile on generated
 * pathological inputs (one very long line, many ENV lines, deeply nested `${A:-…}`, …) at sizes N/4,
 * N/2 and N, parse plus expansion of every instruction, and print one row per input and size. A
 * linear parser shows times roughly doubling with the size; a quadratic one, quadrupling.
 * Profile one input with `node --cpu-prof --import tsx bench/dockerfile-parse.ts --only long-run`.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { parseAndExpand } from '@berth/dockerfile';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, only: { type: 'string' } } });
const scale = Number(values.scale);
if (!(scale > 0)) throw new Error(`--scale must be a positive number, not "${values.scale}"`);

/** Each generator builds an input of about `n` units (bytes, lines or nesting levels). */
const inputs: Record<string, { unit: string; base: number; make: (n: number) => string }> = {
  'long-run': { unit: 'bytes', base: 200_000, make: (n) => `FROM a\nRUN echo ${'a'.repeat(n)}\n` },
  'long-env': { unit: 'bytes', base: 60_000, make: (n) => `FROM a\nENV A=${'a'.repeat(n)}\n` },
  'long-directive': { unit: 'bytes', base: 60_000, make: (n) => `# a=x${' '.repeat(n)}y\nFROM a\n` },
  'carriage-returns': { unit: 'bytes', base: 60_000, make: (n) => `FROM a\nRUN x${'\r'.repeat(n)}y\n` },
  'unknown-keyword': { unit: 'bytes', base: 60_000, make: (n) => `FROM a\n${'A'.repeat(n)} x\n` },
  'env-lines': { unit: 'lines', base: 20_000, make: (n) => `FROM a\n${Array.from({ length: n }, (_, i) => `ENV V${i}=$V${i > 0 ? i - 1 : 0}x`).join('\n')}\n` },
  'nested-default': { unit: 'levels', base: 10_000, make: (n) => `FROM a\nENV A=${'${A:-'.repeat(n)}x${'}'.repeat(n)}\n` },
  'suffix-trim': { unit: 'bytes', base: 40_000, make: (n) => `FROM a\nENV A=${'a'.repeat(n)}\nENV B=\${A%%*b}\n` },
  'suffix-trim-stars': { unit: 'bytes', base: 400, make: (n) => `FROM a\nENV A=${'a'.repeat(n)}\nENV B=\${A#${'*a'.repeat(20)}b}\n` },
  'continuations': { unit: 'lines', base: 20_000, make: (n) => `FROM a\nRUN echo \\\n${'  a \\\n'.repeat(n)}  b\n` },
};

function time(text: string): string {
  const start = performance.now();
  try {
    parseAndExpand(text);
  } catch (err) {
    return `${(performance.now() - start).toFixed(0)} ms (${(err as Error).message.slice(0, 60)})`;
  }
  return `${(performance.now() - start).toFixed(0)} ms`;
}

for (const [name, input] of Object.entries(inputs)) {
  if (values.only !== undefined && values.only !== name) continue;
  const row: string[] = [];
  for (const fraction of [0.25, 0.5, 1]) {
    const n = Math.round(input.base * scale * fraction);
    row.push(`${n} ${input.unit}: ${time(input.make(n))}`);
  }
  console.log(`${name.padEnd(18)} ${row.join('   ')}`);
}
