import { mkdir, open, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { changeTicks, logTimeNs, parseTimestamp, type LogEntry, type ReadLogsOptions } from '@berth/runtime';
import type { LogFileSettings } from './log-driver.js';

/**
 * The files of the json-file and local drivers: docker's JSON lines
 * (`{"log":"hello\n","stream":"stdout","time":"2024-06-01T10:00:00.123456789Z"}`), one record per
 * line, a record without a final newline being part of the next one of its stream (docker's
 * partial messages). Rotation as docker's json-file: when a write would take the current file past
 * `maxSize`, `path.N-1` → `path.N` … `path` → `path.1` (gzipped with `compress`), at most
 * `maxFiles` files in all; with one file, the current one is emptied.
 *
 *   <path>          the current file
 *   <path>.1[.gz]   the newest rotated file … <path>.<maxFiles-1>[.gz] the oldest
 */

/** Go's RFC3339Nano: trailing zeros of the fraction dropped (`…:00.1234Z`, `…:00Z`). */
function rfc3339Nano(time: string): string {
  return time.replace(/\.?0+Z$/, 'Z');
}

/** Go's encoding/json string escaping (HTML characters and U+2028/2029 escaped, invalid UTF-8 as U+FFFD). */
function goJsonString(text: string): string {
  return JSON.stringify(text)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** One docker json-file line for a record of the container's output. */
export function jsonLogLine(record: { stream: 'stdout' | 'stderr'; time: string; content: Buffer; full: boolean }): string {
  const log = record.content.toString('utf8') + (record.full ? '\n' : '');
  return `{"log":${goJsonString(log)},"stream":"${record.stream}","time":"${rfc3339Nano(record.time)}"}\n`;
}

/** Appends lines to the driver's file, rotating as docker's json-file does. */
export class LogFileWriter {
  private size = -1;

  constructor(private readonly settings: LogFileSettings) {}

  /**
   * Appends one record's line (or several). `rotated` runs after a rotation, before the line is
   * written to the new file. A write that fails (a full disk) takes back what it wrote, so no torn
   * line is left to spoil the next one.
   */
  async append(lines: string, rotated?: () => Promise<void>): Promise<void> {
    if (lines === '') return;
    const { path, maxSize } = this.settings;
    if (this.size < 0) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      this.size = (await stat(path).catch(() => undefined))?.size ?? 0; // not written yet: empty
    }
    // One record at a time, so that a rotation falls between records.
    for (const line of lines.split(/(?<=\n)/)) {
      const bytes = Buffer.byteLength(line);
      if (maxSize > 0 && this.size > 0 && this.size + bytes > maxSize) {
        await this.rotate();
        await rotated?.();
      }
      try {
        await writeFile(path, line, { flag: 'a', mode: 0o600 });
      } catch (err) {
        await truncate(path, this.size).catch(() => {}); // nothing written, or the file gone: nothing to take back
        throw err;
      }
      this.size += bytes;
    }
  }

  private async rotate(): Promise<void> {
    const { path, maxFiles, compress } = this.settings;
    const ext = compress ? '.gz' : '';
    if (maxFiles > 1) {
      await rm(`${path}.${maxFiles - 1}${ext}`, { force: true });
      for (let i = maxFiles - 2; i >= 1; i--) {
        // A rotated file missing (fewer rotations so far) has nothing to move.
        await rename(`${path}.${i}${ext}`, `${path}.${i + 1}${ext}`).catch(() => {});
      }
      if (compress) {
        await writeFile(`${path}.1.gz`, await promisify(gzip)(await readFile(path)), { mode: 0o600 });
        await rm(path);
      } else {
        await rename(path, `${path}.1`);
      }
    } else {
      await writeFile(path, '', { mode: 0o600 });
    }
    this.size = 0;
  }
}

/** Where the driver's current file ends: its inode (none when the file is not there) and size. */
export interface LogFileMark {
  ino?: number;
  size: number;
}

export async function logFileMark(settings: LogFileSettings): Promise<LogFileMark> {
  const current = await stat(settings.path).catch(() => undefined); // not written since a rotation: empty
  return current ? { ino: current.ino, size: current.size } : { size: 0 };
}

/**
 * How many lines were written to the driver's files after `mark`: those past it in the file it
 * names, or, when that file was rotated away since, past it in `<path>.1` and then all of the
 * current file. A mark without an inode stands for the file at `path` from its start.
 */
export async function linesWrittenSince(settings: LogFileSettings, mark: LogFileMark): Promise<number> {
  const lines = (data: Buffer | undefined, from: number) => {
    let n = 0;
    for (let i = data ? data.indexOf(0x0a, from) : -1; i >= 0; i = data!.indexOf(0x0a, i + 1)) n++;
    return n;
  };
  const currentData = await readFile(settings.path).catch(() => undefined); // not written since a rotation: no lines
  const current = currentData && (await stat(settings.path).catch(() => undefined)); // rotated meanwhile: counted as gone
  if (mark.ino === undefined) return lines(currentData, 0);
  if (current && current.ino === mark.ino) return lines(currentData, current.size >= mark.size ? mark.size : 0);
  const rotated = settings.compress
    ? await readFile(`${settings.path}.1.gz`).then((d) => promisify(gunzip)(d), () => undefined) // one file kept: emptied in place instead
    : await readFile(`${settings.path}.1`).catch(() => undefined); // one file kept: emptied in place instead
  return lines(rotated, mark.size) + lines(currentData, 0);
}

/** The driver's files, oldest first, with their contents (rotated ones gunzipped). */
async function rotatedContents(settings: LogFileSettings): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = Math.max(settings.maxFiles - 1, 0); i >= 1; i--) {
    for (const name of [`${settings.path}.${i}.gz`, `${settings.path}.${i}`]) {
      const data = await readFile(name).catch(() => undefined); // rotated away meanwhile: skipped
      if (data) out.push(name.endsWith('.gz') ? await promisify(gunzip)(data) : data);
    }
  }
  return out;
}

type Entry = LogEntry & { timeNs: bigint };

/** Turns JSON lines into entries, joining partial records per stream. */
class JsonLineParser {
  private rest = '';
  private pending: { stdout: { time: string; timeNs: bigint; parts: Buffer[] } | undefined; stderr: { time: string; timeNs: bigint; parts: Buffer[] } | undefined } = {
    stdout: undefined,
    stderr: undefined,
  };

  push(data: Buffer | string, flush = false): Entry[] {
    const text = this.rest + data.toString();
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    const out: Entry[] = [];
    for (const line of lines) {
      let record: { log?: string; stream?: string; time?: string };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        continue; // a torn line (the disk filled mid-write): skipped, as docker does
      }
      const stream = record.stream === 'stderr' ? 'stderr' : 'stdout';
      const time = parseTimestamp(record.time ?? '');
      if (!time) continue;
      const log = record.log ?? '';
      const full = log.endsWith('\n');
      const pending = (this.pending[stream] ??= { time: time.time, timeNs: time.ns, parts: [] });
      pending.parts.push(Buffer.from(full ? log.slice(0, -1) : log));
      if (full) {
        out.push({ stream, time: pending.time, timeNs: pending.timeNs, line: Buffer.concat(pending.parts), partial: false });
        this.pending[stream] = undefined;
      }
    }
    if (flush) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const pending = this.pending[stream];
        if (pending) out.push({ stream, time: pending.time, timeNs: pending.timeNs, line: Buffer.concat(pending.parts), partial: true });
        this.pending[stream] = undefined;
      }
    }
    return out;
  }
}

/**
 * `docker logs` over the driver's files: the rotated ones, then the current one; with `follow`,
 * lines appended later (a rotation meanwhile is followed: the old file is read to its end first)
 * until `options.signal` aborts.
 */
export async function* readLogFiles(settings: LogFileSettings, options: ReadLogsOptions = {}): AsyncIterable<LogEntry> {
  const since = logTimeNs(options.since);
  const until = logTimeNs(options.until);
  // Both ends inclusive, as readLogs (k8s-log.ts) and docker's `--until`.
  const accept = (e: Entry) => (since === undefined || e.timeNs >= since) && (until === undefined || e.timeNs <= until);
  const strip = (e: Entry): LogEntry => ({ stream: e.stream, time: e.time, line: e.line, partial: e.partial });
  const parser = new JsonLineParser();
  const initial: Entry[] = [];
  for (const data of await rotatedContents(settings)) initial.push(...parser.push(data));
  let handle: FileHandle | undefined = await open(settings.path, 'r').catch(() => undefined); // not written yet: waited for below
  let ino = handle ? (await handle.stat()).ino : undefined;
  let offset = 0;
  const drain = async (): Promise<Entry[]> => {
    if (!handle) return [];
    const out: Entry[] = [];
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      out.push(...parser.push(buf.subarray(0, bytesRead)));
    }
    return out;
  };
  try {
    initial.push(...(await drain()), ...(options.follow ? [] : parser.push('', true)));
    const selected = initial.filter(accept);
    const tail = options.tail !== undefined && options.tail >= 0 ? selected.slice(Math.max(0, selected.length - options.tail)) : selected;
    for (const e of tail) yield strip(e);
    if (!options.follow) return;
    for await (const _ of changeTicks(dirname(settings.path), options)) {
      for (const e of await drain()) if (accept(e)) yield strip(e);
      const current = await stat(settings.path).catch(() => undefined); // rotated: looked for again below
      if (current && current.ino === ino && current.size < offset) offset = 0; // emptied in place (max-file 1)
      if (current && current.ino !== ino) {
        // Rotated: the old file was read to its end above; the new one starts at 0.
        await handle?.close();
        handle = await open(settings.path, 'r').catch(() => undefined); // not there yet: tried again on the next change
        ino = current.ino;
        offset = 0;
        for (const e of await drain()) if (accept(e)) yield strip(e);
      }
    }
    for (const e of [...(await drain()), ...parser.push('', true)]) if (accept(e)) yield strip(e);
  } finally {
    await handle?.close();
  }
}

