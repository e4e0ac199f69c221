import { InvalidArgumentError } from '@berth/errors';
import { parseGoDuration } from './go-duration.js';
import { GoTimeParseError, goQuote, parseGoTime, type UnixTime } from './go-time-layout.js';

/**
 * Docker's time arguments: `logs --since/--until`, `events --since/--until`, `compose logs --since`
 * and the `until` filter of the prunes all go through here, with Docker's rules (moby
 * api/types/time): a Go duration before `now` (`10m`, `1h30m`, `-5m` is ahead; whole seconds),
 * RFC 3339 with or without a zone (without: the local zone), fraction and seconds optional
 * (`2026-11-22`, `2026-11-22T10`, `2026-11-22T10:00:00.5+01:00`), or Unix seconds with an optional
 * fraction (`1700000000.123456789`).
 *
 * As with Docker, a client turns the argument into Unix seconds (`timestampArg`, relative to its
 * own clock) before sending it, and the server reads either form (`parseTimeArg`).
 */

/** The error for an argument that is none of the forms (Docker's text). */
function unparsable(value: string): InvalidArgumentError {
  return new InvalidArgumentError(`failed to parse value as time or duration: ${goQuote(value)}`);
}

/** Docker's ParseTimestamps: `<seconds>[.<fraction>]` (a fraction beyond nine digits is cut). */
export function parseUnixTimestamp(value: string): UnixTime | undefined {
  const m = /^([+-]?\d+)(?:\.(\d+))?$/.exec(value);
  if (!m) return undefined;
  const seconds = Number(m[1]);
  const digits = m[2] ?? '';
  if (!Number.isSafeInteger(seconds)) return undefined;
  const nanos = digits === '' ? 0 : Math.trunc(Number(digits) * 10 ** (9 - digits.length));
  return { seconds, nanos };
}

/** The layout Docker picks for a timestamp, and whether the value carries its own zone. */
function layoutOf(value: string): { layout: string; local: boolean } {
  const local = !/[zZ+]/.test(value) && value.split('-').length - 1 !== 3;
  if (value.includes('.')) return { layout: local ? '2006-01-02T15:04:05.999999999' : '2006-01-02T15:04:05.999999999Z07:00', local };
  if (value.includes('T')) {
    let colons = value.split(':').length - 1;
    if (!local && !/[zZ]/.test(value) && colons > 0) colons--;
    const base = ['2006-01-02T15', '2006-01-02T15:04', '2006-01-02T15:04:05'][Math.min(colons, 2)]!;
    return { layout: local ? base : `${base}Z07:00`, local };
  }
  return { layout: local ? '2006-01-02' : '2006-01-02Z07:00', local };
}

/**
 * Docker's GetTimestamp (what the client sends): `value` as Unix seconds, `<s>.<9 digits>` for a
 * timestamp, whole seconds for a duration, a Unix time as given. InvalidArgumentError with
 * Docker's text (`failed to parse value as time or duration: "x"`, or Go's parse error for a
 * malformed date).
 */
export function timestampArg(value: string, now: number = Date.now()): string {
  const duration = value === '0' ? undefined : parseGoDuration(value);
  if (duration !== undefined) return String(Math.floor((now - duration / 1e6) / 1000));
  const { layout, local } = layoutOf(value);
  try {
    const t = parseGoTime(layout, value, local ? -new Date(now).getTimezoneOffset() : 0);
    return `${t.seconds}.${String(t.nanos).padStart(9, '0')}`;
  } catch (err) {
    if (!(err instanceof GoTimeParseError)) throw err;
    // With a dash it was meant as a date: Go's error says what is wrong with it.
    if (value.includes('-')) throw new InvalidArgumentError(err.message, { cause: err });
    if (parseUnixTimestamp(value) === undefined) throw unparsable(value);
    return value;
  }
}

/** A time argument in any form (see timestampArg) as nanoseconds since the epoch. */
export function parseTimeArgNs(value: string, now: number = Date.now()): bigint {
  const t = parseUnixTimestamp(timestampArg(value, now));
  if (t === undefined) throw unparsable(value);
  return BigInt(t.seconds) * 1_000_000_000n + BigInt(t.nanos);
}

/** A time argument in any form (see timestampArg) as milliseconds since the epoch (fraction kept). */
export function parseTimeArg(value: string, now: number = Date.now()): number {
  const t = parseUnixTimestamp(timestampArg(value, now));
  if (t === undefined) throw unparsable(value);
  return t.seconds * 1000 + t.nanos / 1e6;
}
