import { describe, expect, it } from 'vitest';
import { parseArgs } from './flags.js';
import { healthFlags, healthSpecFields } from './health-flags.js';

const fields = (argv: string[]) => healthSpecFields(parseArgs(healthFlags, [...argv, 'img']).values, (m) => new Error(m));

describe('healthSpecFields (docker run --health-*)', () => {
  it('leaves the image healthcheck alone without flags', () => {
    expect(fields([])).toEqual({ healthcheck: undefined });
  });

  it('builds a CMD-SHELL healthcheck with Go durations in nanoseconds', () => {
    expect(
      fields(['--health-cmd', 'wget -q localhost', '--health-interval', '1m30s', '--health-timeout=500ms', '--health-retries', '2', '--health-start-period', '10s', '--health-start-interval', '1s']),
    ).toEqual({
      healthcheck: { test: ['CMD-SHELL', 'wget -q localhost'], intervalNs: 90e9, timeoutNs: 500e6, startPeriodNs: 10e9, startIntervalNs: 1e9, retries: 2 },
    });
  });

  it('overrides only the timings when no command is given (the image test is kept)', () => {
    expect(fields(['--health-interval', '2s'])).toEqual({
      healthcheck: { test: [], intervalNs: 2e9, timeoutNs: 0, startPeriodNs: 0, startIntervalNs: 0, retries: 0 },
    });
  });

  it('--no-healthcheck sends NONE and conflicts with the other flags', () => {
    expect(fields(['--no-healthcheck']).healthcheck!.test).toEqual(['NONE']);
    expect(() => fields(['--no-healthcheck', '--health-cmd', 'true'])).toThrow('--no-healthcheck conflicts with --health-* options');
  });

  it("refuses bad values with the docker CLI's messages", () => {
    expect(() => fields(['--health-interval', '5'])).toThrow('invalid argument "5" for "--health-interval" flag: time: invalid duration "5"');
    expect(() => fields(['--health-timeout', '-1s'])).toThrow('--health-timeout cannot be negative');
    expect(() => fields(['--health-retries', '-2'])).toThrow('--health-retries cannot be negative');
  });
});
