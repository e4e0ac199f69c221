import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { applyLayer } from '@berth/layers';
import type { CommandContext } from './context.js';

// `berth build --output`'s sink, loaded only by a build that exports: node:stream and @berth/layers
// (with node:zlib and node:crypto) cost every `berth build` ~5 ms to load (bench/README.md).

/** `--output`: where the exported result goes. */
export interface OutputSpec {
  type: 'oci' | 'tar' | 'local';
  /** A file (`-` for stdout) for oci and tar, a directory for local. */
  dest: string;
}

/** The sink of `--output`: a file, stdout, or a directory the rootfs tar is unpacked into. */
export async function outputSink(ctx: CommandContext, spec: OutputSpec): Promise<{ write(chunk: Buffer): Promise<void>; end(): Promise<void> }> {
  if (spec.type === 'local') {
    const dir = resolve(spec.dest);
    await mkdir(dir, { recursive: true });
    const stream = new PassThrough();
    const applying = applyLayer(dir, stream, { whiteouts: 'remove' });
    applying.catch(() => undefined); // awaited by its caller; this only keeps an early rejection from being unhandled
    return {
      write: (chunk) => writeTo(stream, chunk),
      end: async () => {
        stream.end();
        await applying;
      },
    };
  }
  const stream: Writable = spec.dest === '-' ? ctx.io.stdout : createWriteStream(resolve(spec.dest));
  return {
    write: (chunk) => writeTo(stream, chunk),
    end: async () => {
      if (stream === ctx.io.stdout) return;
      stream.end();
      await finished(stream);
    },
  };
}

function writeTo(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    if (stream.write(chunk)) return res();
    const onError = (err: Error) => rej(err);
    stream.once('error', onError);
    stream.once('drain', () => {
      stream.off('error', onError);
      res();
    });
  });
}
