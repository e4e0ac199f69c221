/**
 * The value formats Compose normalizes: durations (Go's time.ParseDuration / Duration.String,
 * `1m30s`) and byte sizes (go-units RAMInBytes: `512m` = 536870912, binary multiples).
 */

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds of a Go duration string; throws an Error naming the text when it is not one. */
export function parseDuration(text: string): number {
  const bad = () => new Error(`invalid duration ${JSON.stringify(text)}: use a number and a unit (us, ms, s, m, h), e.g. "1m30s"`);
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw bad();
    total += Number(m[1]) * durationUnits[m[2]!]!;
    at = re.lastIndex;
  }
  return sign * Math.round(total);
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
