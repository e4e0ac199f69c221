import { InvalidArgumentError } from '@berth/errors';

const unitNs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses Docker's time arguments (`--since`, `--until` of logs and events) into milliseconds since
 * the epoch: RFC 3339 (`2026-11-22T10:00:00Z`, with or without zone: local), a date, unix seconds
 * with optional fraction (`1700000000.5`), a Go duration before now (`10m`, `1h30m`, `90s`), or
 * `now`.
 */
export function parseTimeArg(value: string, now: number = Date.now()): number {
  const v = value.trim();
  if (v === 'now') return now;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const duration = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(v);
  if (duration) {
    let ms = 0;
    for (const [, n, unit] of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * unitNs[unit!]!;
    return now - ms;
  }
  const parsed = Date.parse(v);
  if (!Number.isNaN(parsed)) return parsed;
  throw new InvalidArgumentError(`Invalid time value "${value}": expected RFC 3339, unix seconds or a duration such as 10m`);
}
