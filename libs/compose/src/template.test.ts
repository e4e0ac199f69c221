import { InvalidArgumentError } from '@berth/errors';
import fc from 'fast-check';
import { LINEAR_BOUND, linearGrowth, thrownBy } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import { substitute } from './template.js';

const env: Record<string, string> = { FOO: 'foo', EMPTY: '', NUM: '42' };
const lookup = (n: string) => (Object.hasOwn(env, n) ? env[n] : undefined);
const sub = (t: string) => substitute(t, { lookup });

describe('substitute (12-interpolation.md)', () => {
  it.each([
    ['$FOO', 'foo'],
    ['${FOO}', 'foo'],
    ['a${FOO}b$FOO.c', 'afoobfoo.c'],
    ['${UNSET}', ''],
    ['${UNSET:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${FOO:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${FOO:?err}', 'foo'],
    ['${EMPTY?err}', ''],
    ['${UNSET:-${FOO}}', 'foo'],
    ['${UNSET:-${ALSO:-default}}', 'default'],
    ['${UNSET:-$FOO-x}', 'foo-x'],
    ['${UNSET:-a b c}', 'a b c'],
    ['$$', '$'],
    ['$$FOO', '$FOO'],
    ['$${FOO}', '${FOO}'],
    ['${UNSET:-$$}', '$'],
    ['cost 5$', 'cost 5$'],
    ['$1 and $ and $-', '$1 and $ and $-'],
    ['${UNSET:-{x}}', '{x}'],
    ['${NUM}${NUM}', '4242'],
    ['no variables', 'no variables'],
  ])('%s → %s', (template, expected) => {
    expect(sub(template)).toBe(expected);
  });

  it.each([
    ['${UNSET:?is required}', 'required variable UNSET is missing a value: is required'],
    ['${EMPTY:?must not be empty}', 'required variable EMPTY is missing a value: must not be empty'],
    ['${UNSET?}', 'required variable UNSET is missing a value'],
    ['${UNSET?need $FOO}', 'required variable UNSET is missing a value: need foo'],
    ['${FOO!}', 'invalid interpolation format in "${FOO!}": you may need to escape any $ with another $'],
    ['${}', 'invalid interpolation format in "${}": you may need to escape any $ with another $'],
    ['${ FOO}', 'invalid interpolation format in "${ FOO}": you may need to escape any $ with another $'],
    ['${FOO', 'invalid interpolation format in "${FOO": you may need to escape any $ with another $'],
    ['${FOO:-abc', 'invalid interpolation format in "${FOO:-abc": you may need to escape any $ with another $'],
    ['${FOO/a/b}', 'invalid interpolation format in "${FOO/a/b}": you may need to escape any $ with another $'],
  ])('%s fails: %s', (template, message) => {
    const error = thrownBy(() => sub(template));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(message);
  });

  it('reports each unset variable it falls back on', () => {
    const unset: string[] = [];
    substitute('$A ${B} ${C:-x} ${D-y}', { lookup, onUnset: (n) => unset.push(n) });
    expect(unset).toEqual(['A', 'B']);
  });

  it('refuses nesting deeper than the limit with a clear error', () => {
    const deep = '${A:-'.repeat(100) + 'x' + '}'.repeat(100);
    expect(() => sub(deep)).toThrow(/interpolation nested more than 64 levels deep/);
    const ok = '${A:-'.repeat(60) + 'x' + '}'.repeat(60);
    expect(sub(ok)).toBe('x');
  });

  // No absolute timings: an input against one 8 times larger, in CPU time (libs/testing linear-growth.ts).
  it.each([
    ['long input of variables, defaults and escapes', (n: number) => '$FOO ${A:-${B:-x}} $$ '.repeat(n) + '${A:-'.repeat(60) + 'x}' + '}'.repeat(59), 12_500],
    ['an unclosed nested default before a long run of dollars', (n: number) => '${A:-'.repeat(63) + '$'.repeat(n), 25_000],
  ])('takes linear time: %s', (_name, make, n) => {
    // depth errors are expected for the unclosed input: only the cost matters here
    const g = linearGrowth(sub, make, n, (e) => e instanceof InvalidArgumentError);
    expect(g.large, g.message).toBeLessThan(g.small * LINEAR_BOUND);
  });
});

describe('substitute fuzz', () => {
  it('never throws anything but InvalidArgumentError, in linear-ish time', () => {
    const alphabet = fc.constantFrom('$', '{', '}', ':', '-', '?', '+', 'A', 'FOO', 'EMPTY', '_', ' ', '1', '$$', '${', '${FOO', ':-', '}}');
    const deadline = Date.now() + 2500;
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 400 }), (parts) => {
        if (Date.now() > deadline) return;
        const text = parts.join('');
        // This process's CPU time, not the clock's: on a busy machine (the e2e files run beside
        // the unit files) the process may wait for a core, which says nothing about the parser.
        const start = process.cpuUsage();
        try {
          const out = sub(text);
          expect(typeof out).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidArgumentError);
        }
        const used = process.cpuUsage(start);
        // 400 tokens: anything quadratic would show; generous bound for a loaded machine
        expect((used.user + used.system) / 1000).toBeLessThan(50);
      }),
      { seed: 20240601, numRuns: 3000 },
    );
  });
});
