import { afterEach, describe, expect, it } from 'vitest';
import { parseTimeArg, parseTimeArgNs, parseUnixTimestamp, pruneUntil, timestampArg, FilterArgs } from './index.js';

const now = Date.parse('2026-11-22T12:00:00.700Z');
const secondsOf = (iso: string) => String(Date.parse(iso) / 1000);

describe('timestampArg: what the client sends (moby GetTimestamp)', () => {
  it('turns Go durations into whole Unix seconds before now', () => {
    expect(timestampArg('10m', now)).toBe(secondsOf('2026-11-22T11:50:00Z'));
    expect(timestampArg('1h30m', now)).toBe(secondsOf('2026-11-22T10:30:00Z'));
    expect(timestampArg('1.5h', now)).toBe(secondsOf('2026-11-22T10:30:00Z'));
    expect(timestampArg('90s', now)).toBe(secondsOf('2026-11-22T11:58:30Z'));
    expect(timestampArg('300ms', now)).toBe(secondsOf('2026-11-22T12:00:00Z'));
    // a negative duration lies ahead
    expect(timestampArg('-5m', now)).toBe(secondsOf('2026-11-22T12:05:00Z'));
  });

  it('keeps Unix seconds as given, "0" included', () => {
    expect(timestampArg('1700000000', now)).toBe('1700000000');
    expect(timestampArg('1700000000.5', now)).toBe('1700000000.5');
    expect(timestampArg('0', now)).toBe('0');
  });

  it('reads RFC 3339 with a zone, with or without fraction, minutes or seconds', () => {
    expect(timestampArg('2026-11-22T11:00:00Z', now)).toBe('1795345200.000000000');
    expect(timestampArg('2026-11-22T11:00:00.5Z', now)).toBe('1795345200.500000000');
    expect(timestampArg('2026-11-22T12:00:00.123456789+01:00', now)).toBe('1795345200.123456789');
    expect(timestampArg('2026-11-22T11:00Z', now)).toBe('1795345200.000000000');
    expect(timestampArg('2026-11-22T12:00+01:00', now)).toBe('1795345200.000000000');
    expect(timestampArg('2026-11-22T11Z', now)).toBe('1795345200.000000000');
    expect(timestampArg('2026-11-22T11:00:00-00:00', now)).toBe('1795345200.000000000');
  });

  describe('without a zone: the local one (of now)', () => {
    const tz = process.env.TZ;
    afterEach(() => {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    });
    it.each(['UTC', 'Asia/Kolkata', 'America/New_York'])('in %s', (zone) => {
      process.env.TZ = zone;
      const offsetMs = -new Date(now).getTimezoneOffset() * 60_000;
      const local = (iso: string) => String((Date.parse(`${iso}Z`) - offsetMs) / 1000);
      expect(timestampArg('2026-11-22', now)).toBe(`${local('2026-11-22T00:00:00')}.000000000`);
      expect(timestampArg('2026-11-22T10', now)).toBe(`${local('2026-11-22T10:00:00')}.000000000`);
      expect(timestampArg('2026-11-22T10:30', now)).toBe(`${local('2026-11-22T10:30:00')}.000000000`);
      expect(timestampArg('2026-11-22T10:30:15', now)).toBe(`${local('2026-11-22T10:30:15')}.000000000`);
      expect(timestampArg('2026-11-22T10:30:15.25', now)).toBe(`${local('2026-11-22T10:30:15')}.250000000`);
    });
  });

  it("fails with Docker's and Go's messages", () => {
    expect(() => timestampArg('yesterday', now)).toThrow('failed to parse value as time or duration: "yesterday"');
    expect(() => timestampArg('now', now)).toThrow('failed to parse value as time or duration: "now"');
    expect(() => timestampArg('10x', now)).toThrow('failed to parse value as time or duration: "10x"');
    expect(() => timestampArg('2026-13-01', now)).toThrow('parsing time "2026-13-01": month out of range');
    expect(() => timestampArg('2026-02-30', now)).toThrow('parsing time "2026-02-30": day out of range');
    expect(() => timestampArg('2026-11-2x', now)).toThrow('parsing time "2026-11-2x" as "2006-01-02": cannot parse "2x" as "02"');
    expect(() => timestampArg('2026-11-22T25:00:00', now)).toThrow('parsing time "2026-11-22T25:00:00": hour out of range');
    expect(() => timestampArg('2026-11-22T10:00:00Zjunk', now)).toThrow('parsing time "2026-11-22T10:00:00Zjunk": extra text: "junk"');
    expect(() => timestampArg('2026/11/22', now)).toThrow('failed to parse value as time or duration: "2026/11/22"');
  });
});

describe('parseTimeArg / parseTimeArgNs: what the server reads', () => {
  it('reads the normalized form and every raw form alike', () => {
    expect(parseTimeArg('10m', now)).toBe(Date.parse('2026-11-22T11:50:00Z'));
    expect(parseTimeArg('1h30m', now)).toBe(Date.parse('2026-11-22T10:30:00Z'));
    expect(() => parseTimeArg('yesterday', now)).toThrow('failed to parse value as time or duration: "yesterday"');
    expect(parseTimeArg('1700000000.5', now)).toBe(1_700_000_000_500);
    expect(parseTimeArg('2026-11-22T11:00:00Z', now)).toBe(Date.parse('2026-11-22T11:00:00Z'));
    expect(parseTimeArg(timestampArg('2026-11-22T11:00:00.25Z', now), now)).toBe(Date.parse('2026-11-22T11:00:00.250Z'));
    expect(parseTimeArgNs('1700000000.123456789', now)).toBe(1_700_000_000_123_456_789n);
    expect(parseTimeArgNs('2026-11-22T11:00:00.000000001Z', now)).toBe(1_795_345_200_000_000_001n);
  });

  it("reads Docker's Unix timestamps as ParseTimestamps does", () => {
    expect(parseUnixTimestamp('1136073600.000000001')).toEqual({ seconds: 1136073600, nanos: 1 });
    expect(parseUnixTimestamp('1136073600.5')).toEqual({ seconds: 1136073600, nanos: 500_000_000 });
    expect(parseUnixTimestamp('1136073600.1234567891')).toEqual({ seconds: 1136073600, nanos: 123_456_789 });
    expect(parseUnixTimestamp('abc')).toBeUndefined();
  });
});

describe('pruneUntil', () => {
  it('is undefined without the filter, a time with it, an error with two', () => {
    expect(pruneUntil(FilterArgs.from([]), now)).toBeUndefined();
    expect(pruneUntil(FilterArgs.from([{ key: 'until', value: '1h' }]), now)).toBe(Date.parse('2026-11-22T11:00:00Z'));
    expect(() => pruneUntil(FilterArgs.from({ until: ['1h', '2h'] }), now)).toThrow('more than one until filter specified');
    expect(() => pruneUntil(FilterArgs.from({ until: ['soon'] }), now)).toThrow('failed to parse value as time or duration: "soon"');
  });
});
