import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { applyLayer } from '@berth/layers';

/**
 * ADD's local archives, as docker's `archive.IsArchivePath` sees them: a file is an archive when,
 * once decompressed (gzip in process, bzip2 and xz by the host's tools), it starts with a tar
 * header. A compressed file that is not a tar (`notes.txt.gz`) is copied as it is.
 */

type Compression = 'gzip' | 'bzip2' | 'xz' | 'none';

async function compressionOf(path: string): Promise<Compression> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    const h = head.subarray(0, bytesRead);
    if (h.length >= 2 && h[0] === 0x1f && h[1] === 0x8b) return 'gzip';
    if (h.length >= 3 && h.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (h.length >= 6 && h.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    return 'none';
  } finally {
    await handle.close();
  }
}

/** The file's bytes, decompressed; `close` ends the decompressing tool (if any) when the stream is not read to its end. */
function decompressed(path: string, compression: Compression): { stream: Readable; close: () => Promise<void> } {
  if (compression === 'gzip') {
    const stream = createReadStream(path).pipe(createGunzip());
    return { stream, close: async () => void stream.destroy() };
  }
  if (compression === 'none') {
    const stream = createReadStream(path);
    return { stream, close: async () => void stream.destroy() };
  }
  const tool = spawn(compression, ['-dc', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve) => {
    if (tool.exitCode !== null || tool.signalCode !== null) resolve();
    else tool.once('close', () => resolve());
  });
  // A missing tool fails the read of its (empty) output, which the callers handle.
  tool.once('error', () => undefined);
  return {
    stream: tool.stdout!,
    close: async () => {
      if (tool.exitCode === null && tool.signalCode === null) tool.kill();
      await exited;
    },
  };
}

/** Whether the file is a tar archive, plain or compressed with gzip, bzip2 or xz. */
export async function isTarArchive(path: string): Promise<boolean> {
  const { stream, close } = decompressed(path, await compressionOf(path));
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= 512) break;
    }
  } catch {
    return false; // not valid compressed data: a file to copy as it is
  } finally {
    await close();
  }
  const head = Buffer.concat(chunks);
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** Unpacks a local tar archive onto `target` with the layer applier's path safety (nothing lands outside `target`). */
export async function extractArchive(archive: string, target: string): Promise<void> {
  const { stream, close } = decompressed(archive, await compressionOf(archive));
  try {
    await applyLayer(target, stream, { whiteouts: 'remove' });
  } finally {
    await close();
  }
}
