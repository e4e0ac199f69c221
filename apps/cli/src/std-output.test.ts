import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { tempDir, type TempDir } from '@berth/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StdOutput } from './std-output.js';

/** A stand-in for Node's stream of a descriptor: what was written to it, in order. */
function collector(): NodeJS.WriteStream & { text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString() }) as unknown as NodeJS.WriteStream & { text: () => string };
}

let dir: TempDir;
const open: number[] = [];
beforeEach(() => {
  dir = tempDir('berth-std-output-');
});
afterEach(() => {
  for (const fd of open.splice(0)) closeSync(fd);
  dir.remove();
  vi.restoreAllMocks();
});

/** A FIFO's two ends, both non-blocking (the write end answers EAGAIN once the pipe is full, ~64 KiB). */
function fifo(): { read: number; write: number } {
  const path = join(dir.path, 'fifo');
  execFileSync('mkfifo', [path]);
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  open.push(read, write);
  return { read, write };
}

function drain(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString();
}

describe('StdOutput', () => {
  it('writes text to the descriptor at once, without making Node\'s stream', () => {
    const file = join(dir.path, 'out');
    const fd = openSync(file, 'w');
    open.push(fd);
    const make = vi.fn(() => collector());
    const std = new StdOutput(make, () => fd);
    std.print(1, 'one\n');
    std.print(2, 'twö\n');
    expect(readFileSync(file, 'utf8')).toBe('one\ntwö\n');
    expect(make).not.toHaveBeenCalled();
  });

  it('sends a descriptor\'s text through the stream once something has made it, so that none overtakes what it holds', () => {
    const file = join(dir.path, 'out');
    const fd = openSync(file, 'w');
    open.push(fd);
    const streams = { 1: collector(), 2: collector() };
    const std = new StdOutput((n) => streams[n], () => fd);
    std.print(1, 'before\n');
    expect(std.stream(1)).toBe(streams[1]);
    std.print(1, 'after\n');
    std.print(2, 'error\n'); // stderr's stream was not made: still the descriptor
    expect(readFileSync(file, 'utf8')).toBe('before\nerror\n');
    expect(streams[1].text()).toBe('after\n');
  });

  it('hands the rest to the stream when the descriptor would block (a full non-blocking pipe)', () => {
    const { read, write } = fifo();
    const stream = collector();
    const std = new StdOutput(() => stream, () => write);
    const text = 'x'.repeat(200_000) + 'end\n';
    std.print(1, text);
    const written = drain(read);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(text.length);
    expect(written + stream.text()).toBe(text);
    std.print(1, 'next\n'); // after the stream was made: through it, behind the rest
    expect(stream.text().endsWith('end\nnext\n')).toBe(true);
  });

  it('ends the command quietly with status 0 when the reader has gone (EPIPE), as `berth ps | head -1`', () => {
    const { read, write } = fifo();
    closeSync(read);
    open.splice(open.indexOf(read), 1);
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const std = new StdOutput(() => collector(), () => write);
    expect(() => std.print(1, 'lost\n')).toThrow('exit 0');
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('throws what it cannot handle (a descriptor that is not open)', () => {
    const std = new StdOutput(() => collector(), () => 1_000_000);
    expect(() => std.print(1, 'x')).toThrow(/EBADF/);
  });
});
