import { watch, type FSWatcher } from 'node:fs';
import { open, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseK8sRecord } from '@berth/runtime';
import type { LogFileSettings } from './log-driver.js';
import { jsonLogLine, linesWrittenSince, logFileMark, LogFileWriter, type LogFileMark } from './log-files.js';
import { silentLogger, type Logger } from '@berth/log';

/**
 * Copies a running container's output from conmon's monitor log (k8s-file `ctr.log`) into its
 * driver's files (log-files.ts), as the records arrive. conmon keeps the monitor log small
 * (`--log-size-max`): when it starts a new file, the shipper reads the old one to its end through
 * the descriptor it holds, then goes on with the new one. Where it got to is kept next to the log
 * (`<log>.shipped`: the monitor log's inode and offset, and where the driver's file then ended), so
 * an agent that restarts goes on from there, each record copied once: the lines written after the
 * position was saved (the agent killed in between) are counted and their records skipped. While the
 * agent is down, conmon may replace the monitor log more than once, and what the shipper had not
 * read of those files is lost (at most the monitor log's size limit per replacement).
 */
export class LogShipper {
  private handle?: FileHandle;
  private ino?: number;
  /** The monitor log's offset of the first record not copied yet. */
  private offset = 0;
  private readonly writer: LogFileWriter;
  private stopped = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private watcher?: FSWatcher;
  /** Set by the watcher: the directory changed since the current pass began. */
  private changed = false;
  private lastError?: string;
  /** One read buffer for the shipper's life (a fresh zero-filled 64 KiB a pass was most of its cost). */
  private readonly buf = Buffer.allocUnsafe(1 << 16);

  constructor(
    private readonly monitorLog: string,
    private readonly settings: LogFileSettings,
    private readonly log: Logger = silentLogger,
    /**
     * How often to look without a change seen: `watched` while the directory's watcher works (a
     * safety net: each write of conmon's wakes the shipper), `unwatched` when it cannot watch.
     */
    private readonly pollMs = { watched: 2_000, unwatched: 200 },
  ) {
    this.writer = new LogFileWriter(settings);
  }

  private get stateFile(): string {
    return `${this.monitorLog}.shipped`;
  }

  /** Starts copying (from where an earlier shipper of this log stopped). */
  start(): void {
    if (this.running) return;
    try {
      this.watcher = watch(dirname(this.monitorLog), () => {
        this.changed = true;
        this.wake?.();
      });
      this.watcher.on('error', () => {
        // the directory gone or inotify out of watches: looked at every pollMs.unwatched instead
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // no watcher (inotify out of watches): looked at every pollMs.unwatched instead
    }
    this.running = this.loop().catch((err: unknown) => this.log.warn({ path: this.monitorLog, err }, 'Cannot copy the monitor log'));
  }

  /**
   * Copies what is left, then stops. With `done` (the run is over and its monitor is gone), the
   * monitor log is emptied: everything in it is in the driver's files now.
   */
  async stop(options: { done?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.watcher?.close();
    await this.handle?.close();
    this.handle = undefined;
    if (options.done) {
      await truncate(this.monitorLog, 0).catch(() => {}); // no monitor log: nothing to empty
      await rm(this.stateFile, { force: true });
    }
  }

  private async loop(): Promise<void> {
    await this.resume();
    while (!this.stopped) {
      this.changed = false;
      // A pass that fails (a full disk) is logged once and tried again at the next one.
      const copied = await this.pass().then(
        () => {
          this.lastError = undefined;
          return true;
        },
        (err: unknown) => {
          const message = (err as Error).message;
          if (message !== this.lastError) this.log.warn({ path: this.monitorLog, err: message }, 'Cannot copy the monitor log');
          this.lastError = message;
          return false;
        },
      );
      // A change seen during the pass may have come after its read: looked at again at once.
      if (copied && this.changed) continue;
      await new Promise<void>((resolve) => {
        // A stop asked for during the pass found no wake-up to call: not a poll later.
        if (this.stopped) return resolve();
        this.wake = resolve;
        setTimeout(resolve, this.watcher ? this.pollMs.watched : this.pollMs.unwatched).unref();
      });
      this.wake = undefined;
    }
    await this.pass();
  }

  private async resume(): Promise<void> {
    // no saved position (first run, or unreadable): from the start
    const saved = await readFile(this.stateFile, 'utf8')
      .then((t) => JSON.parse(t) as SavedPosition)
      .catch(() => undefined);
    const current = await stat(this.monitorLog).catch(() => undefined); // no monitor log yet: nothing to copy
    if (!saved || !current || saved.ino !== current.ino || saved.offset > current.size) return;
    this.offset = saved.offset;
    this.ino = saved.ino;
    if (!saved.written) return;
    // Records copied after the position was saved are in the driver's files already: skipped.
    let skip = await linesWrittenSince(this.settings, saved.written);
    if (skip === 0) return;
    const handle = await open(this.monitorLog, 'r');
    try {
      for await (const record of this.records(handle)) {
        if (record.line !== undefined && skip-- === 0) break;
        this.offset = record.end;
      }
    } finally {
      await handle.close();
    }
  }

  /** Reads what is new (following a replaced monitor log) and writes it out. */
  private async pass(): Promise<void> {
    for (let round = 0; round < 2; round++) {
      if (!this.handle) {
        this.handle = await open(this.monitorLog, 'r').catch(() => undefined); // no monitor log yet: opened on the next wake
        if (!this.handle) return;
        const ino = (await this.handle.stat()).ino;
        if (this.ino !== undefined && ino !== this.ino) this.offset = 0;
        this.ino = ino;
      }
      await this.copy(this.handle);
      const current = await stat(this.monitorLog).catch(() => undefined); // no monitor log yet: nothing to copy
      if (!current || current.ino === this.ino) return;
      // conmon started a new monitor log: the old one is read to its end, then the new one.
      await this.handle.close();
      this.handle = undefined;
    }
  }

  /** The complete records from `this.offset` on: each one's line (none for a record that is not one) and end. */
  private async *records(handle: FileHandle): AsyncIterable<{ line?: string; end: number }> {
    const buf = this.buf;
    let rest = Buffer.alloc(0);
    let offset = this.offset;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset + rest.length);
      if (bytesRead === 0) return;
      const data = Buffer.concat([rest, buf.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
        const record = parseK8sRecord(data.subarray(start, nl));
        start = nl + 1;
        yield { line: record && jsonLogLine(record), end: offset + start };
      }
      offset += start;
      rest = Buffer.from(data.subarray(start));
    }
  }

  /**
   * Copies the new complete records, then saves the position. Nothing is marked copied before it
   * is written: a write that fails (a full disk) is tried again at the next pass, from the record
   * it failed on. A rotation of the driver's file saves the position before the new file gets a line.
   */
  private async copy(handle: FileHandle): Promise<void> {
    const start = this.offset;
    try {
      for await (const record of this.records(handle)) {
        if (record.line !== undefined) await this.writer.append(record.line, () => this.save({ size: 0 }));
        this.offset = record.end;
      }
    } finally {
      if (this.offset !== start) await this.save(await logFileMark(this.settings));
    }
  }

  private async save(written: LogFileMark): Promise<void> {
    const position: SavedPosition = { ino: this.ino!, offset: this.offset, written };
    const temp = join(dirname(this.stateFile), `.shipped.${process.pid}.tmp`);
    await writeFile(temp, JSON.stringify(position), { mode: 0o600 });
    await rename(temp, this.stateFile);
  }
}

/** `<log>.shipped`: where the copy got to in the monitor log, and where the driver's file ended then. */
interface SavedPosition {
  ino: number;
  offset: number;
  /** Absent in positions saved by earlier versions. */
  written?: LogFileMark;
}
