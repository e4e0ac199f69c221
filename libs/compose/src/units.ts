/**
 * The value formats Compose normalizes: durations (Go's time.ParseDuration / Duration.String,
 * `1m30s`) and byte sizes (go-units RAMInBytes: `512m` = 536870912, binary multiples).
 */
import { parseGoDuration } from '@berth/filters';

/** Nanoseconds of a Go duration string; throws an Error naming the text when it is not one. */
export function parseDuration(text: string): number {
  const ns = parseGoDuration(text.trim());
  if (ns === undefined) throw new Error(`invalid duration ${JSON.stringify(text)}: use a number and a unit (us, ms, s, m, h), e.g. "1m30s"`);
  return ns;
}

function trimFraction(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** Go's Duration.String(): `1h0m0s`, `1m30s`, `1.5s`, `500ms`, `0s`. */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let d = Math.abs(ns);
  let out: string;
  if (d < 1e9) {
    if (d < 1e3) out = `${d}ns`;
    else if (d < 1e6) out = `${trimFraction((d / 1e3).toFixed(3))}µs`;
    else out = `${trimFraction((d / 1e6).toFixed(6))}ms`;
  } else {
    const h = Math.floor(d / 3600e9);
    d -= h * 3600e9;
    const m = Math.floor(d / 60e9);
    d -= m * 60e9;
    const sec = `${trimFraction((d / 1e9).toFixed(9))}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

/** A duration field as Compose prints it: a number is seconds, a string is parsed. */
export function normalizeDuration(value: unknown): string {
  if (typeof value === 'number') return formatDuration(value * 1e9);
  return formatDuration(parseDuration(String(value)));
}

const byteUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units RAMInBytes: `1g`, `512mb`, `1.5G`, `100` (bytes), `2b`. Throws an Error for bad text. */
export function parseBytes(value: unknown): number {
  if (typeof value === 'number') return Math.trunc(value);
  const text = String(value);
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new Error(`invalid size ${JSON.stringify(text)}: use a number and a unit (b, k, m, g), e.g. "512m"`);
  return Math.trunc(Number(m[1]) * byteUnits[(m[2] ?? '').toLowerCase()]!);
}
