import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, futimesSync, lutimesSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { readTar } from '@berth/layers';

/** A file or symlink the client sent for a sync, under a temporary name. */
export interface ReceivedFile {
  /** Where it was written (a flat name in the receiving directory). */
  tmp: string;
  type: 'file' | 'symlink';
  /** The content digest of a file, computed while it was written. */
  digest?: string;
}

/**
 * Writes the files and symlinks of a file sync's tar (`source`, plain) into the empty directory
 * `dir` under flat names (0, 1, …), each file hashed as it is written: the caller moves them into
 * place by path without reading them again. Only the paths of `wanted` are kept (whatever else a
 * client sends is read and dropped); modes and times are the tar's, owners root's. Synchronous
 * writes, as the layer applier's: one call per step of a small file costs less than a thread-pool
 * round trip. Returns what came, by path, and the bytes read.
 */
export async function receiveFiles(dir: string, source: AsyncIterable<Uint8Array>, wanted: ReadonlySet<string>): Promise<{ files: Map<string, ReceivedFile>; bytes: number }> {
  let bytes = 0;
  const counted = (async function* () {
    for await (const chunk of source) {
      bytes += chunk.length;
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    }
  })();
  const files = new Map<string, ReceivedFile>();
  let n = 0;
  for await (const { header, body } of readTar(counted)) {
    const path = header.name;
    if (!wanted.has(path) || (header.type !== 'file' && header.type !== 'symlink')) {
      for await (const _ of body); // not asked for: dropped
      continue;
    }
    const tmp = `${dir}/${n++}`;
    const mtime = header.mtime;
    if (header.type === 'symlink') {
      symlinkSync(header.linkname, tmp);
      lutimesSync(tmp, mtime, mtime);
      files.set(path, { tmp, type: 'symlink' });
      continue;
    }
    const hash = createHash('sha256');
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      }
      fchmodSync(fd, header.mode & 0o7777);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
    files.set(path, { tmp, type: 'file', digest: `sha256:${hash.digest('hex')}` });
  }
  return { files, bytes };
}
