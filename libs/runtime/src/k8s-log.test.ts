import { appendFile, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseTimestamp, readLogs, type LogEntry, type ReadLogsOptions } from './k8s-log.js';

const fixture = new URL('../testdata/k8s-file.log', import.meta.url).pathname;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string, options?: ReadLogsOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readLogs(path, options)) out.push(show(e));
  return out;
}

const show = (e: LogEntry) => `${e.time} ${e.stream}${e.partial ? ' (partial)' : ''}: ${e.line.toString()}`;

describe('readLogs', () => {
  it('parses records, joins partial lines per stream and normalizes times to UTC', async () => {
    expect(await collect(fixture)).toEqual([
      '2026-11-22T12:07:35.135309990Z stdout: hello',
      '2026-11-22T12:07:35.300000000Z stderr: an error',
      '2026-11-22T12:07:35.200000000Z stdout: part one, part two',
      '2026-11-22T12:07:36.500000000Z stdout: offset zone',
      '2026-11-22T12:07:37.000000001Z stderr: ',
      '2026-11-22T12:07:38.000000000Z stdout (partial): no newline at exit',
    ]);
  });

  it('honours tail, since and until', async () => {
    expect(await collect(fixture, { tail: 2 })).toEqual([
      '2026-11-22T12:07:37.000000001Z stderr: ',
      '2026-11-22T12:07:38.000000000Z stdout (partial): no newline at exit',
    ]);
    expect(await collect(fixture, { tail: 0 })).toEqual([]);
    const since = Date.parse('2026-11-22T12:07:36Z') / 1000;
    expect((await collect(fixture, { since, until: new Date('2026-11-22T12:07:37.999Z') })).map((l) => l.split(': ')[1])).toEqual(['offset zone', '']);
    // As Docker: both ends are inclusive, to the nanosecond (bigint: nanoseconds since the epoch).
    const ns = (iso: string, extra = 0n) => BigInt(Date.parse(iso)) * 1_000_000n + extra;
    expect(
      (await collect(fixture, { since: ns('2026-11-22T12:07:37Z', 1n), until: ns('2026-11-22T12:07:38Z') })).map((l) => l.split(': ')[1]),
    ).toEqual(['', 'no newline at exit']);
    expect(await collect(fixture, { since: ns('2026-11-22T12:07:37Z', 2n), until: ns('2026-11-22T12:07:37.999Z') })).toEqual([]);
  });

  it('reads a missing file as empty', async () => {
    expect(await collect(join(dir, 'none.log'))).toEqual([]);
  });

  it('follows appended lines until aborted, then drains', async () => {
    const path = join(dir, 'ctr.log');
    await copyFile(fixture, path);
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of readLogs(path, { follow: true, tail: 1, signal: controller.signal, pollMs: 50 })) seen.push(e.line.toString());
    })();
    // Caught up with the file: the last whole record is out; the partial one waits for its end.
    await vi.waitFor(() => expect(seen).toEqual(['']), { timeout: 10_000, interval: 10 });
    await appendFile(path, '2026-11-22T12:07:39.000000000+00:00 stdout F  and its end\n');
    await vi.waitFor(() => expect(seen).toEqual(['', 'no newline at exit and its end']), { timeout: 10_000, interval: 10 });
    await appendFile(path, '2026-11-22T12:07:40.000000000+00:00 stdout F last\n2026-11-22T12:07:41.000000000+00:00 stdout P tail\n');
    controller.abort();
    await done;
    expect(seen).toEqual(['', 'no newline at exit and its end', 'last', 'tail']);
  });
});

describe('parseTimestamp', () => {
  it('keeps nanoseconds and converts offsets', () => {
    expect(parseTimestamp('2026-01-02T03:04:05.123+01:00')).toEqual({ time: '2026-01-02T02:04:05.123000000Z', ns: 1767319445123000000n });
    expect(parseTimestamp('garbage')).toBeUndefined();
  });
});
