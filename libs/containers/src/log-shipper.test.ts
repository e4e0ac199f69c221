import { appendFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, waitUntil, type TempDir } from '@berth/testing';
import type { LogFileSettings } from './log-driver.js';
import { readLogFiles } from './log-files.js';
import { LogShipper } from './log-shipper.js';

/**
 * The shipper's position is saved after the lines it copied are written; an agent killed between
 * the two (SIGKILL) must not copy those lines again when it comes back.
 */
describe('LogShipper', () => {
  let dir: TempDir;
  let monitorLog: string;
  beforeEach(() => {
    dir = tempDir('berth-log-shipper-');
    monitorLog = join(dir.path, 'ctr.log');
  });
  afterEach(() => dir.remove());

  const tick = async (...numbers: number[]) => {
    for (const n of numbers) await appendFile(monitorLog, `2026-12-04T10:00:00.${String(n).padStart(9, '0')}+00:00 stdout F tick ${n}\n`);
  };
  /** One agent's shipper over the records written so far (stop copies what is left). */
  const ship = async (settings: LogFileSettings) => {
    const shipper = new LogShipper(monitorLog, settings);
    shipper.start();
    await shipper.stop();
  };
  const shipped = async (settings: LogFileSettings) => {
    const lines: string[] = [];
    for await (const e of readLogFiles(settings)) lines.push(e.line.toString().trim());
    return lines;
  };
  const ticks = (...numbers: number[]) => numbers.map((n) => `tick ${n}`);

  it('stops at once when asked to during a pass, not a poll later', async () => {
    const settings: LogFileSettings = { path: join(dir.path, 'json.log'), maxSize: 0, maxFiles: 1, compress: false };
    await tick(1);
    // Polls a minute apart: only the stop itself can end the wait after the pass.
    const shipper = new LogShipper(monitorLog, settings, undefined, { watched: 60_000, unwatched: 60_000 });
    const inner = shipper as unknown as { pass: () => Promise<void>; changed: boolean };
    const pass = inner.pass.bind(shipper);
    let stopping: Promise<void> | undefined;
    let passes = 0;
    inner.pass = async () => {
      await pass();
      // Asked for (the container's exit) during a pass that found nothing new: the first one is
      // followed by a second at once, as when a change was seen during it.
      if (++passes === 1) inner.changed = true;
      else if (passes === 2) stopping = shipper.stop();
    };
    shipper.start();
    await waitUntil('the second pass', () => stopping !== undefined);
    const outcome = await Promise.race([stopping!.then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000).unref())]);
    expect(outcome).toBe('stopped');
    expect(await shipped(settings)).toEqual(ticks(1));
  });

  it('goes on after the last record copied when it was killed before saving its position', async () => {
    const settings: LogFileSettings = { path: join(dir.path, 'json.log'), maxSize: 0, maxFiles: 1, compress: false };
    await tick(1, 2, 3);
    await ship(settings);
    const savedAfterThree = await readFile(`${monitorLog}.shipped`);
    await tick(4, 5);
    await ship(settings);
    // As if the agent had died after writing tick 4 and 5 but before saving where it got to.
    await writeFile(`${monitorLog}.shipped`, savedAfterThree);
    await tick(6);
    await ship(settings);
    expect(await shipped(settings)).toEqual(ticks(1, 2, 3, 4, 5, 6));
  });

  it.each([false, true])('counts the lines of a file rotated before the position was saved (compress %s)', async (compress) => {
    // Two lines per file.
    const line = '{"log":"tick 1\\n","stream":"stdout","time":"2026-12-04T10:00:00.000000001Z"}\n';
    const settings: LogFileSettings = { path: join(dir.path, 'json.log'), maxSize: 2 * line.length, maxFiles: 3, compress };
    await tick(1);
    await ship(settings);
    const savedAfterOne = await readFile(`${monitorLog}.shipped`);
    await tick(2);
    await ship(settings);
    // As if the agent had died after writing tick 2 and rotating the full file, before saving.
    await writeFile(`${monitorLog}.shipped`, savedAfterOne);
    if (compress) {
      await writeFile(`${settings.path}.1.gz`, await promisify(gzip)(await readFile(settings.path)));
      await rm(settings.path);
    } else {
      await rename(settings.path, `${settings.path}.1`);
    }
    await tick(3, 4, 5);
    await ship(settings);
    expect(await shipped(settings)).toEqual(ticks(1, 2, 3, 4, 5));
  });

  it('saves its position when the driver file rotates, before the new file gets a line', async () => {
    const line = '{"log":"tick 1\\n","stream":"stdout","time":"2026-12-04T10:00:00.000000001Z"}\n';
    const settings: LogFileSettings = { path: join(dir.path, 'json.log'), maxSize: 2 * line.length, maxFiles: 2, compress: false };
    await tick(1, 2, 3);
    await ship(settings);
    const saved = JSON.parse(await readFile(`${monitorLog}.shipped`, 'utf8')) as { written: { size: number } };
    expect(saved.written.size).toBe(line.length);
    await tick(4, 5, 6);
    await ship(settings);
    expect(await shipped(settings)).toEqual(ticks(3, 4, 5, 6));
  });

  it('resumes from a position saved without the driver file mark (an earlier agent)', async () => {
    const settings: LogFileSettings = { path: join(dir.path, 'json.log'), maxSize: 0, maxFiles: 1, compress: false };
    await tick(1, 2);
    await ship(settings);
    const saved = JSON.parse(await readFile(`${monitorLog}.shipped`, 'utf8')) as { ino: number; offset: number };
    await writeFile(`${monitorLog}.shipped`, JSON.stringify({ ino: saved.ino, offset: saved.offset }));
    await tick(3);
    await ship(settings);
    expect(await shipped(settings)).toEqual(ticks(1, 2, 3));
  });

  it('copies a record as it arrives: the directory is watched, not polled', async () => {
    const settings: LogFileSettings = { path: join(dir.path, 'json.log'), maxSize: 0, maxFiles: 1, compress: false };
    // Polls a minute apart: only the watcher can bring the records in time.
    const shipper = new LogShipper(monitorLog, settings, undefined, { watched: 60_000, unwatched: 60_000 });
    shipper.start();
    try {
      await tick(1);
      await waitUntil('tick 1 copied', async () => (await shipped(settings)).length === 1);
      await tick(2, 3);
      await waitUntil('tick 2 and 3 copied', async () => (await shipped(settings)).length === 3);
    } finally {
      await shipper.stop();
    }
    expect(await shipped(settings)).toEqual(ticks(1, 2, 3));
  });
});
