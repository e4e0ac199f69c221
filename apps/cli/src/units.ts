/**
 * Human-readable sizes, durations and times exactly as the docker CLI prints them (the Go package
 * github.com/docker/go-units and Go's time formatting), so that tables and scripts that parse them
 * see the same text from `berth` as from `docker`.
 */

import { humanDuration } from '@berth/filters';

const decimalAbbrs = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const binaryAbbrs = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's `%.<precision>g`: shortest of fixed/exponent notation, trailing zeros removed. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(precision)))));
  if (exponent < -4 || exponent >= precision) {
    const [mantissa, exp] = value.toExponential(precision - 1).split('e');
    const m = stripZeros(mantissa!);
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return stripZeros(value.toFixed(Math.max(0, precision - 1 - exponent)));
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

function customSize(size: number, precision: number, base: number, abbrs: string[]): string {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return `${formatG(size, precision)}${abbrs[i]}`;
}

/** go-units `HumanSizeWithPrecision`: decimal units, e.g. `4.26MB` with precision 3. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  return customSize(size, precision, 1000, decimalAbbrs);
}

/** go-units `HumanSize` (precision 4): `1.234MB`. */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units `BytesSize`: binary units, `1.5MiB`. */
export function bytesSize(size: number): string {
  return customSize(size, 4, 1024, binaryAbbrs);
}

const ramUnits: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * The largest size Berth carries: sizes travel as int64 but are decoded into JavaScript numbers,
 * exact up to 2^53 - 1 (8 PiB); go-units would overflow int64 silently instead.
 */
export const maxSize = Number.MAX_SAFE_INTEGER;

/**
 * go-units `RAMInBytes` (`--memory 512m`, `-m 1.5g`, `1e3`, `5 MiB`): the number is whatever Go's
 * ParseFloat reads, then an optional suffix b, k, kb, kib, m, … (case-insensitive, binary
 * multipliers). Throws an Error with go-units' (and ParseFloat's) wording: `invalid size: '-1'`,
 * `invalid suffix: 'x'`, `strconv.ParseFloat: parsing " 5": invalid syntax`; and for a size beyond
 * `maxSize`, `invalid size: '…' (the largest is 9007199254740991 bytes, 8 PiB)`.
 */
export function ramInBytes(text: string): number {
  // The number ends at the last digit, dot or space; a space before the suffix is dropped.
  const sep = Math.max(...[...'0123456789. '].map((c) => text.lastIndexOf(c)));
  if (sep === -1) throw new Error(`invalid size: '${text}'`);
  const num = text[sep] === ' ' ? text.slice(0, sep) : text.slice(0, sep + 1);
  let suffix = text.slice(sep + 1);
  let size = parseGoFloat(num);
  if (size < 0) throw new Error(`invalid size: '${text}'`);
  if (suffix !== '') {
    const bad = new Error(`invalid suffix: '${suffix.length > 3 ? suffix : suffix.toLowerCase()}'`);
    if (suffix.length > 3) throw bad;
    suffix = suffix.toLowerCase();
    if (suffix[0] === 'b') {
      if (suffix.length > 1) throw bad;
    } else {
      const multiplier = ramUnits[suffix[0]!];
      if (multiplier === undefined) throw bad;
      if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) throw bad;
      size *= multiplier;
    }
  }
  if (Math.trunc(size) > maxSize) throw new Error(`invalid size: '${text}' (the largest is ${maxSize} bytes, 8 PiB)`);
  return Math.trunc(size);
}

/** Go's `strconv.ParseFloat(s, 64)` for decimal and hexadecimal floats, with its error wording. */
export function parseGoFloat(text: string): number {
  const decimal = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
  const hex = /^[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+$/;
  let value: number;
  if (decimal.test(text)) value = Number(text);
  else if (hex.test(text)) value = hexFloat(text);
  else throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
  if (!Number.isFinite(value)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: value out of range`);
  return value;
}

function hexFloat(text: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(text)!;
  const mantissa = parseInt(`${m[2] || '0'}${m[3]}`, 16) / 16 ** m[3]!.length;
  return (m[1] === '-' ? -1 : 1) * mantissa * 2 ** Number(m[4]);
}

/** go-units `HumanDuration` (@berth/filters): `Less than a second`, `5 seconds`, `About a minute`, `3 hours`, `2 weeks`. */
export { humanDuration };

/** `2 minutes ago` for a unix time in seconds (docker's CREATED / RunningFor columns). */
export function timeAgo(unixSeconds: number, now: number = Date.now()): string {
  return `${humanDuration(Math.max(0, now - unixSeconds * 1000))} ago`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function offsetOf(date: Date): { sign: string; hours: number; minutes: number; total: number } {
  const total = -date.getTimezoneOffset();
  const abs = Math.abs(total);
  return { sign: total < 0 ? '-' : '+', hours: Math.trunc(abs / 60), minutes: abs % 60, total };
}

function localParts(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function localClock(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Go's `time.Time.String()` for a unix time in seconds: `2026-11-22 12:00:00 +0000 UTC`. */
export function goTimeString(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const off = offsetOf(date);
  const zone =
    off.total === 0
      ? 'UTC'
      : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? '');
  return `${localParts(date)} ${localClock(date)} ${off.sign}${pad(off.hours)}${pad(off.minutes)} ${zone}`;
}

function zoneSuffix(date: Date): string {
  const off = offsetOf(date);
  return off.total === 0 ? 'Z' : `${off.sign}${pad(off.hours)}:${pad(off.minutes)}`;
}

/** Go's `time.RFC3339` in local time: `2026-11-22T12:00:00Z` (history -H=false). */
export function rfc3339(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  return `${localParts(date)}T${localClock(date)}${zoneSuffix(date)}`;
}

/**
 * Docker's `RFC3339NanoFixed` (`2006-01-02T15:04:05.000000000Z07:00`) in local time, from
 * nanoseconds since the epoch given as a decimal string (JavaScript numbers cannot hold them).
 */
export function rfc3339NanoFixed(timeNano: string | bigint): string {
  const nanos = BigInt(timeNano);
  const seconds = nanos / 1_000_000_000n;
  const fraction = nanos % 1_000_000_000n;
  const date = new Date(Number(seconds) * 1000);
  return `${localParts(date)}T${localClock(date)}.${String(fraction).padStart(9, '0')}${zoneSuffix(date)}`;
}
