import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';

/** A service and its log file (libs/platform `platformLogFiles`). */
export interface ServiceLogFile {
  name: string;
  log: string;
}

export interface PlatformLogsOptions {
  /** Only this service (no prefix); default all, interleaved by time, each line prefixed. */
  service?: string;
  /** Lines from the end of each service's log; default all. */
  tail?: number;
  /** Keep printing what is appended, until `signal` aborts. */
  follow?: boolean;
  /** The lines as written (JSON), not pretty-printed. */
  raw?: boolean;
  write: (text: string) => void;
  signal?: AbortSignal;
}

/**
 * `berth platform logs [SERVICE] [-f] [--tail N] [--raw]`: the services' log files, pretty-printed
 * (`time LEVEL msg key=value`). A line that is not a service's JSON (nats-server's own format, the
 * registry's readiness lines) is printed as it is, at the time of the line before it.
 */
export async function platformLogs(files: ServiceLogFile[], options: PlatformLogsOptions): Promise<void> {
  let chosen = files;
  if (options.service !== undefined) {
    chosen = files.filter((f) => f.name === options.service);
    if (chosen.length === 0) {
      throw new InvalidArgumentError(`No such service "${options.service}": expected one of ${files.map((f) => f.name).join(', ')}`);
    }
  }
  const prefixWidth = Math.max(...chosen.map((f) => f.name.length));
  const format = (svc: string, line: string) =>
    `${options.service === undefined ? `${svc.padEnd(prefixWidth)} | ` : ''}${options.raw ? line : prettyLine(line)}\n`;
  const readers = chosen.map((f) => new LogReader(f));
  const lines: Array<{ svc: string; line: string; time: number }> = [];
  for (const reader of readers) {
    const read = await reader.readNew();
    const kept = options.tail !== undefined ? read.slice(Math.max(0, read.length - options.tail)) : read;
    lines.push(...kept.map((l) => ({ svc: reader.file.name, ...l })));
  }
  // Interleaved by time; sort is stable, so a file's own order holds among equal times.
  lines.sort((a, b) => a.time - b.time);
  for (const l of lines) options.write(format(l.svc, l.line));
  if (!options.follow || options.signal?.aborted) return;

  // Follow: a change in the logs directory (a line appended, a file created) reads what is new.
  await new Promise<void>((resolve) => {
    let reading = Promise.resolve();
    const readAll = () => {
      reading = reading.then(async () => {
        for (const reader of readers) for (const l of await reader.readNew()) options.write(format(reader.file.name, l.line));
      });
    };
    const watchers: FSWatcher[] = [...new Set(chosen.map((f) => dirname(f.log)))].map((dir) => watch(dir, readAll));
    // fs.watch can miss an event (a file replaced under it): look again every second as well.
    const timer = setInterval(readAll, 1_000);
    const stop = () => {
      for (const w of watchers) w.close();
      clearInterval(timer);
      void reading.then(resolve);
    };
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
}

/** Reads a log file's complete lines from where it last stopped (from the start again if it was truncated). */
class LogReader {
  private offset = 0;
  private rest = '';
  private lastTime = 0;

  constructor(readonly file: ServiceLogFile) {}

  async readNew(): Promise<Array<{ line: string; time: number }>> {
    const size = (await stat(this.file.log).catch(() => undefined))?.size; // not written yet: nothing to read
    if (size === undefined) return [];
    if (size < this.offset) [this.offset, this.rest] = [0, ''];
    if (size === this.offset) return [];
    const handle = await open(this.file.log, 'r');
    let text: string;
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      text = this.rest + buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
    const parts = text.split('\n');
    this.rest = parts.pop()!;
    return parts
      .filter((line) => line !== '')
      .map((line) => {
        this.lastTime = lineTime(line) ?? this.lastTime;
        return { line, time: this.lastTime };
      });
  }
}

/** The time of a line: a service's JSON `time`, or nats-server's `[pid] 2026/12/02 22:35:01.123456`. */
function lineTime(line: string): number | undefined {
  const event = parseEvent(line);
  if (event !== undefined) {
    const t = typeof event.time === 'number' ? event.time : Date.parse(String(event.time));
    return Number.isNaN(t) ? undefined : t;
  }
  const nats = /^\[\d+\] (\d{4})\/(\d\d)\/(\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(line);
  return nats ? new Date(`${nats[1]}-${nats[2]}-${nats[3]}T${nats[4]}`).getTime() : undefined;
}

function parseEvent(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && 'msg' in value ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // not JSON: printed as it is
  }
}

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields every line has, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname', 'name', 'v']);

/** `2026-12-02T22:35:01.123Z WARN  Cannot unmount the rootfs container=3f2a… err="device busy"`. */
export function prettyLine(line: string): string {
  const event = parseEvent(line);
  if (event === undefined) return line;
  const time = typeof event.time === 'number' ? new Date(event.time).toISOString() : String(event.time ?? '');
  const level = (typeof event.level === 'number' ? (PINO_LEVELS[event.level] ?? String(event.level)) : String(event.level ?? '')).toUpperCase();
  const fields = Object.entries(event)
    .filter(([key, value]) => !HEAD_FIELDS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  return [time, level.padEnd(5), String(event.msg), ...fields].join(' ');
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}
