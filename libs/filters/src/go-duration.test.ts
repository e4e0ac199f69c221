import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './go-duration.js';

describe('parseGoDuration', () => {
  it("reads what Go's time.ParseDuration reads, in nanoseconds", () => {
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('300ms')).toBe(300e6);
    expect(parseGoDuration('-1.5h')).toBe(-5400e9);
    expect(parseGoDuration('+2h45m')).toBe(9900e9);
    expect(parseGoDuration('1h2m3s4ms5us6ns')).toBe(3723004005006);
    expect(parseGoDuration('1µs')).toBe(1e3);
    expect(parseGoDuration('1μs')).toBe(1e3);
    expect(parseGoDuration('.5s')).toBe(5e8);
    expect(parseGoDuration('1.s')).toBe(1e9);
  });

  it('gives undefined for anything else', () => {
    for (const text of ['', '-', '5', '1d', '1 s', 's', '1h ', ' 1h', '1.5.s', 'now']) expect(parseGoDuration(text), text).toBeUndefined();
  });
});
