import { describe, expect, it } from 'vitest';
import { bytesSize, formatG, goTimeString, humanDuration, humanSize, humanSizeWithPrecision, ramInBytes, rfc3339NanoFixed, timeAgo } from './units.js';

describe('sizes (go-units)', () => {
  it('prints decimal sizes with 3 significant digits like docker images', () => {
    expect(humanSizeWithPrecision(4_261_234, 3)).toBe('4.26MB');
    expect(humanSizeWithPrecision(1_234, 3)).toBe('1.23kB');
    expect(humanSizeWithPrecision(100, 3)).toBe('100B');
    expect(humanSizeWithPrecision(0, 3)).toBe('0B');
    expect(humanSizeWithPrecision(124_000_000, 3)).toBe('124MB');
    expect(humanSizeWithPrecision(999_999, 3)).toBe('1e+03kB');
    expect(humanSize(1_234_567)).toBe('1.235MB');
    expect(bytesSize(1536 * 1024)).toBe('1.5MiB');
    expect(bytesSize(8 * 1024 ** 3)).toBe('8GiB');
  });

  it('formats %g as Go does', () => {
    expect(formatG(1.5, 3)).toBe('1.5');
    expect(formatG(12.345, 4)).toBe('12.35');
    expect(formatG(1e-7, 3)).toBe('1e-07');
  });

  it('parses memory sizes like RAMInBytes', () => {
    expect(ramInBytes('512m')).toBe(512 * 1024 ** 2);
    expect(ramInBytes('1g')).toBe(1024 ** 3);
    expect(ramInBytes('64MiB')).toBe(64 * 1024 ** 2);
    expect(ramInBytes('100')).toBe(100);
    expect(ramInBytes('10kb')).toBe(10240);
    expect(() => ramInBytes('10x')).toThrow("invalid suffix: 'x'");
    expect(() => ramInBytes('abc')).toThrow("invalid size: 'abc'");
  });

  it('reads sizes exactly as go-units parseSize does', () => {
    expect(ramInBytes('1e3')).toBe(1000);
    expect(ramInBytes('.5k')).toBe(512);
    expect(ramInBytes('5.b')).toBe(5);
    expect(ramInBytes('5 m')).toBe(5 * 1024 ** 2);
    expect(ramInBytes('2KiB')).toBe(2048);
    expect(ramInBytes('0x1p4')).toBe(16);
    expect(ramInBytes('7p')).toBe(7 * 1024 ** 5);
    expect(() => ramInBytes('-1')).toThrow("invalid size: '-1'");
    expect(() => ramInBytes(' 5m')).toThrow('strconv.ParseFloat: parsing " 5": invalid syntax');
    expect(() => ramInBytes('1_000')).toThrow('strconv.ParseFloat: parsing "1_000": invalid syntax');
    expect(() => ramInBytes('5ib')).toThrow("invalid suffix: 'ib'");
    expect(() => ramInBytes('5MX')).toThrow("invalid suffix: 'mx'");
    expect(() => ramInBytes('5KiBs')).toThrow("invalid suffix: 'KiBs'");
    expect(() => ramInBytes('1e400')).toThrow('strconv.ParseFloat: parsing "1e400": value out of range');
    expect(() => ramInBytes('8p')).toThrow("invalid size: '8p' (the largest is 9007199254740991 bytes, 8 PiB)");
  });
});

describe('durations and times', () => {
  it('prints go-units HumanDuration', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(5_000)).toBe('5 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(2 * 60_000)).toBe('2 minutes');
    expect(humanDuration(3_600_000)).toBe('About an hour');
    expect(humanDuration(5 * 3_600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(humanDuration(20 * 86_400_000)).toBe('2 weeks');
    expect(humanDuration(90 * 86_400_000)).toBe('3 months');
    expect(humanDuration(800 * 86_400_000)).toBe('2 years');
    expect(timeAgo(1000, 1000_000 + 120_000)).toBe('2 minutes ago');
  });

  it('prints Go time strings in the local zone (UTC here)', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      expect(goTimeString(1_795_867_200)).toBe('2026-11-28 12:00:00 +0000 UTC');
      expect(rfc3339NanoFixed('1795867200000000042')).toBe('2026-11-28T12:00:00.000000042Z');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
