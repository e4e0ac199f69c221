import { open } from 'node:fs/promises';
import { changeTicks } from './change-ticks.js';

/**
 * One log line of a container, from conmon's k8s-file log. Lines that conmon split into `P` (partial)
 * records are joined up to their `F` record. `line` has no trailing newline; `partial` is true only for
 * a last line that never got its newline (the process exited mid-line, or it is still being written
 * when not following): callers print `line` plus `\n` unless `partial`.
 */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC3339 in UTC with 9 fraction digits, e.g. `2026-11-22T12:07:35.135309990Z`. */
  time: string;
  line: Buffer;
  partial: boolean;
}

export interface ReadLogsOptions {
  /** Keep reading appended lines until `signal` aborts (then the file is drained once more). */
  follow?: boolean;
  /** Only lines at or after this time: a Date, Unix seconds (fractions allowed) or nanoseconds since the epoch (bigint). */
  since?: Date | number | bigint;
  /** Only lines at or before this time (same forms), as Docker's `--until`. */
  until?: Date | number | bigint;
  /** Only the last `tail` lines present when reading starts (before following). */
  tail?: number;
  signal?: AbortSignal;
  /** Poll interval in ms while following, besides fs.watch; default 250. */
  pollMs?: number;
}

interface Record {
  stream: 'stdout' | 'stderr';
  timeNs: bigint;
  time: string;
  full: boolean;
  content: Buffer;
}

/**
 * Reads conmon's k8s-file log (`<RFC3339Nano> <stdout|stderr> <P|F> <text>\n` per record). A missing
 * file reads as empty (the container has not written yet). With `follow`, yields new lines as they are
 * appended until `options.signal` aborts; the caller aborts when the container has exited.
 */
export async function* readLogs(logPath: string, options: ReadLogsOptions = {}): AsyncIterable<LogEntry> {
  const since = logTimeNs(options.since);
  const until = logTimeNs(options.until);
  const accept = (e: LogEntry & { timeNs: bigint }) =>
    (since === undefined || e.timeNs >= since) && (until === undefined || e.timeNs <= until);
  const reader = new LogReader(logPath);

  const initial = (await reader.read(!options.follow)).filter(accept);
  const tail = options.tail !== undefined && options.tail >= 0 ? initial.slice(Math.max(0, initial.length - options.tail)) : initial;
  for (const e of tail) yield strip(e);
  if (!options.follow) return;

  for await (const _ of changeTicks(logPath, options)) {
    for (const e of await reader.read(false)) if (accept(e)) yield strip(e);
  }
  // Drain what was written before the abort, including a last line without newline.
  for (const e of await reader.read(true)) if (accept(e)) yield strip(e);
}

function strip(e: LogEntry & { timeNs: bigint }): LogEntry {
  return { stream: e.stream, time: e.time, line: e.line, partial: e.partial };
}

/** Incremental reader: remembers its offset, an unfinished text line and pending `P` records. */
class LogReader {
  private offset = 0;
  private rest = Buffer.alloc(0);
  /** `P` records waiting for their `F`, per stream (stdout and stderr may interleave). */
  private pending: { stdout: Record[]; stderr: Record[] } = { stdout: [], stderr: [] };

  constructor(private readonly path: string) {}

  /** New complete entries; with `flush`, a pending partial line is returned with `partial: true`. */
  async read(flush: boolean): Promise<Array<LogEntry & { timeNs: bigint }>> {
    const chunks: Buffer[] = [this.rest];
    try {
      const fh = await open(this.path, 'r');
      try {
        const buf = Buffer.alloc(1 << 16);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
          if (bytesRead === 0) break;
          this.offset += bytesRead;
          chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const data = Buffer.concat(chunks);
    const out: Array<LogEntry & { timeNs: bigint }> = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const rec = parseRecord(data.subarray(start, nl));
      start = nl + 1;
      if (!rec) continue;
      this.pending[rec.stream].push(rec);
      if (rec.full) out.push(this.join(rec.stream, false));
    }
    this.rest = Buffer.from(data.subarray(start));
    if (flush) {
      const rest = (['stdout', 'stderr'] as const).filter((s) => this.pending[s].length > 0).map((s) => this.join(s, true));
      out.push(...rest.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0)));
    }
    return out;
  }

  private join(stream: 'stdout' | 'stderr', partial: boolean): LogEntry & { timeNs: bigint } {
    const records = this.pending[stream];
    const first = records[0]!;
    const line = Buffer.concat(records.map((r) => r.content));
    this.pending[stream] = [];
    return { stream: first.stream, time: first.time, timeNs: first.timeNs, line, partial };
  }
}

/** One k8s-file record (`<time> <stream> <P|F> <text>`, without its newline); undefined when malformed. */
export function parseK8sRecord(raw: Buffer): { stream: 'stdout' | 'stderr'; time: string; timeNs: bigint; full: boolean; content: Buffer } | undefined {
  return parseRecord(raw);
}

function parseRecord(raw: Buffer): Record | undefined {
  const s1 = raw.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : raw.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : raw.indexOf(0x20, s2 + 1);
  if (s2 < 0) return undefined;
  const ts = raw.subarray(0, s1).toString();
  const stream = raw.subarray(s1 + 1, s2).toString();
  const tag = raw.subarray(s2 + 1, s3 < 0 ? raw.length : s3).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const parsed = parseTimestamp(ts);
  if (!parsed) return undefined;
  return {
    stream,
    time: parsed.time,
    timeNs: parsed.ns,
    full: !tag.split(':').includes('P'),
    content: s3 < 0 ? Buffer.alloc(0) : Buffer.from(raw.subarray(s3 + 1)),
  };
}

/** `2026-11-22T12:07:35.135309990+00:00` → UTC RFC3339 with 9 fraction digits and ns since epoch. */
export function parseTimestamp(ts: string): { time: string; ns: bigint } | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(ts);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3] === 'Z' ? 'Z' : m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const iso = new Date(ms).toISOString().slice(0, 19);
  return { time: `${iso}.${frac}Z`, ns: BigInt(ms) * 1_000_000n + BigInt(frac) };
}

/** A `since`/`until` of ReadLogsOptions (Date, Unix seconds, or ns as bigint) as ns since the epoch. */
export function logTimeNs(t: Date | number | bigint | undefined): bigint | undefined {
  if (t === undefined || typeof t === 'bigint') return t;
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  const whole = Math.floor(t);
  return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((t - whole) * 1e9));
}
