import { describe, expect, it } from 'vitest';
import { checkHealthcheck, goDurationString, mergeHealthcheck, probeSettings } from './health-config.js';

describe('mergeHealthcheck (Docker: user over image, zero fields inherited)', () => {
  const image = { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 10e9, Retries: 5 };

  it('takes the image healthcheck when the user gives none, and fills the user zeros from the image', () => {
    expect(mergeHealthcheck(undefined, image)).toEqual(image);
    expect(mergeHealthcheck({ Timeout: 2e9 }, image)).toEqual({ ...image, Timeout: 2e9 });
    expect(mergeHealthcheck({ Test: ['CMD', 'true'], Interval: 1e9 }, image)).toEqual({ Test: ['CMD', 'true'], Interval: 1e9, Retries: 5 });
    expect(mergeHealthcheck(undefined, undefined)).toBeUndefined();
  });

  it('keeps NONE (--no-healthcheck) over the image', () => {
    expect(mergeHealthcheck({ Test: ['NONE'] }, image)).toEqual({ Test: ['NONE'], Interval: 10e9, Retries: 5 });
    expect(probeSettings(mergeHealthcheck({ Test: ['NONE'] }, image))).toBeUndefined();
  });
});

describe('checkHealthcheck', () => {
  it("refuses what Docker refuses, with Docker's messages", () => {
    expect(() => checkHealthcheck({ Interval: 5e5 })).toThrow('Interval in Healthcheck cannot be less than 1ms');
    expect(() => checkHealthcheck({ Timeout: 1 })).toThrow('Timeout in Healthcheck cannot be less than 1ms');
    expect(() => checkHealthcheck({ StartPeriod: 1 })).toThrow('StartPeriod in Healthcheck cannot be less than 1ms');
    expect(() => checkHealthcheck({ StartInterval: 1 })).toThrow('StartInterval in Healthcheck cannot be less than 1ms');
    expect(() => checkHealthcheck({ Retries: -1 })).toThrow('Retries in Healthcheck cannot be negative');
    expect(() => checkHealthcheck({ Test: ['CMD'] })).toThrow('Healthcheck CMD needs a command: got ["CMD"]');
    expect(() => checkHealthcheck({ Test: ['HTTP', '/'] })).toThrow('Unknown healthcheck type "HTTP" in ["HTTP","/"]: expected CMD, CMD-SHELL or NONE');
    expect(() => checkHealthcheck({ Test: ['CMD-SHELL', 'true'], Interval: 1e6, Retries: 0 })).not.toThrow();
    expect(() => checkHealthcheck({ Test: ['NONE'] })).not.toThrow();
  });
});

describe('probeSettings', () => {
  it("applies Docker's defaults: interval 30s, timeout 30s, retries 3, start period 0, start interval 5s", () => {
    expect(probeSettings({ Test: ['CMD', 'true'] })).toEqual({
      command: ['true'],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
      retries: 3,
    });
  });

  it('runs CMD-SHELL with /bin/sh -c, or the image SHELL', () => {
    expect(probeSettings({ Test: ['CMD-SHELL', 'exit 1'], Interval: 2e9, Retries: 1 })).toMatchObject({
      command: ['/bin/sh', '-c', 'exit 1'],
      intervalMs: 2000,
      retries: 1,
    });
    expect(probeSettings({ Test: ['CMD-SHELL', 'true'] }, ['/bin/ash', '-eo', 'pipefail', '-c'])!.command).toEqual(['/bin/ash', '-eo', 'pipefail', '-c', 'true']);
  });

  it('does not probe without a test, with NONE or an unknown type', () => {
    expect(probeSettings(undefined)).toBeUndefined();
    expect(probeSettings({ Interval: 1e9 })).toBeUndefined();
    expect(probeSettings({ Test: ['NONE'] })).toBeUndefined();
    expect(probeSettings({ Test: ['HTTP', '/'] })).toBeUndefined();
  });
});

describe('goDurationString (Go time.Duration.String)', () => {
  it.each([
    [0, '0s'],
    [1, '1ns'],
    [1500, '1.5µs'],
    [500e6, '500ms'],
    [1e9, '1s'],
    [2.5e9, '2.5s'],
    [30e9, '30s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [-2e9, '-2s'],
  ])('%d ns → %s', (ns, text) => expect(goDurationString(ns)).toBe(text));
});
