/**
 * Go's `time.Parse` / `time.ParseInLocation` for the few layouts Docker's time arguments use
 * (`2006-01-02`, `2006-01-02T15`, `2006-01-02T15:04`, `2006-01-02T15:04:05`, with `.999999999`
 * and `Z07:00` variants), with Go's error text, which Docker passes on unchanged:
 * `parsing time "2026-13-01" as "2006-01-02": cannot parse …` / `…: month out of range`.
 */

/** A point in time to the nanosecond: whole seconds since the epoch and the nanoseconds past them. */
export interface UnixTime {
  seconds: number;
  nanos: number;
}

/** Go's `time.ParseError`, with Go's message. */
export class GoTimeParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoTimeParseError';
  }
}

type Element = '2006' | '01' | '02' | '15' | '04' | '05' | '.999999999' | 'Z07:00';
const elements: Element[] = ['2006', '01', '02', '15', '04', '05', '.999999999', 'Z07:00'];

/** Go's `quote`: the text in double quotes, `"` and `\` escaped. */
export function goQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

/** The layout as literal runs and elements, in order. */
function chunks(layout: string): Array<{ literal: string } | { element: Element }> {
  const out: Array<{ literal: string } | { element: Element }> = [];
  let rest = layout;
  while (rest.length > 0) {
    const element = elements.find((e) => rest.startsWith(e));
    if (element) {
      out.push({ element });
      rest = rest.slice(element.length);
      continue;
    }
    const last = out.at(-1);
    if (last && 'literal' in last) last.literal += rest[0];
    else out.push({ literal: rest[0]! });
    rest = rest.slice(1);
  }
  return out;
}

const isDigit = (s: string, i: number) => i < s.length && s[i]! >= '0' && s[i]! <= '9';

/** Go's getnum: one or two digits (exactly two when `fixed`). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) return fixed ? undefined : [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function daysIn(month: number, year: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses `value` with `layout`. `offsetMinutes` is the zone of a value without one (Go's location:
 * `ParseInLocation(…, time.FixedZone(now.Zone()))`), UTC when undefined. Throws GoTimeParseError.
 */
export function parseGoTime(layout: string, value: string, offsetMinutes = 0): UnixTime {
  const fail = (layoutElem: string, valueElem: string): never => {
    throw new GoTimeParseError(`parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(valueElem)} as ${goQuote(layoutElem)}`);
  };
  const outOfRange = (what: string): never => {
    throw new GoTimeParseError(`parsing time ${goQuote(value)}: ${what} out of range`);
  };
  let rest = value;
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let zone: number | undefined;
  const parts = chunks(layout);
  for (const [index, part] of parts.entries()) {
    if ('literal' in part) {
      for (const c of part.literal) {
        if (rest[0] !== c) fail(part.literal, rest);
        rest = rest.slice(1);
      }
      continue;
    }
    const hold = rest;
    switch (part.element) {
      case '2006':
        if (rest.length < 4 || !/^\d{4}/.test(rest)) fail('2006', hold);
        year = Number(rest.slice(0, 4));
        rest = rest.slice(4);
        break;
      case '01':
      case '02':
      case '04':
      case '05':
      case '15': {
        const n = getnum(rest, part.element !== '15');
        if (!n) return fail(part.element, hold);
        const v = n[0];
        rest = n[1];
        if (part.element === '01') {
          if (v < 1 || v > 12) outOfRange('month');
          month = v;
        }
        if (part.element === '02') day = v;
        if (part.element === '15') {
          if (v >= 24) outOfRange('hour');
          hour = v;
        }
        if (part.element === '04') {
          if (v >= 60) outOfRange('minute');
          minute = v;
        }
        if (part.element === '05') {
          if (v >= 60) outOfRange('second');
          second = v;
          // Go accepts a fraction after the seconds when the layout has none right after them.
          const next = parts[index + 1];
          const fractionNext = next !== undefined && 'element' in next && next.element === '.999999999';
          if (!fractionNext && /^[.,]\d/.test(rest)) {
            const digits = /^[.,](\d+)/.exec(rest)![1]!;
            nanos = fraction(digits);
            rest = rest.slice(1 + digits.length);
          }
        }
        break;
      }
      case '.999999999':
        if (/^[.,]\d/.test(rest)) {
          const digits = /^[.,](\d+)/.exec(rest)![1]!;
          nanos = fraction(digits);
          rest = rest.slice(1 + digits.length);
        }
        break;
      case 'Z07:00': {
        if (rest[0] === 'Z') {
          zone = 0;
          rest = rest.slice(1);
          break;
        }
        if (rest.length < 6 || rest[3] !== ':' || (rest[0] !== '+' && rest[0] !== '-')) fail('Z07:00', hold);
        const hh = getnum(rest.slice(1, 3), true);
        const mm = getnum(rest.slice(4, 6), true);
        if (!hh || !mm) return fail('Z07:00', hold);
        if (hh[0] > 24) outOfRange('time zone offset hour');
        if (mm[0] > 60) outOfRange('time zone offset minute');
        zone = (rest[0] === '-' ? -1 : 1) * (hh[0] * 60 + mm[0]);
        rest = rest.slice(6);
        break;
      }
    }
  }
  if (rest.length > 0) throw new GoTimeParseError(`parsing time ${goQuote(value)}: extra text: ${goQuote(rest)}`);
  if (day < 1 || day > daysIn(month, year)) outOfRange('day');
  // setUTCFullYear, not Date.UTC: that one maps the years 0-99 to 1900-1999, Go does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const fixed = date.getTime() - (zone ?? offsetMinutes) * 60_000;
  return { seconds: Math.floor(fixed / 1000), nanos };
}

/** Up to nine digits of a fraction of a second, as nanoseconds (more digits are cut). */
function fraction(digits: string): number {
  return Number(digits.slice(0, 9).padEnd(9, '0'));
}
