import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { digestStream, type DigestAlgorithm } from '@berth/oci';

export function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT' || (err as NodeJS.ErrnoException)?.code === 'ENOTDIR';
}

/** Reads a small file (text, or bytes with `null`); undefined when it (or a parent) does not exist. */
export async function readOptional(path: string): Promise<string | undefined>;
export async function readOptional(path: string, encoding: null): Promise<Buffer | undefined>;
export async function readOptional(path: string, encoding: 'utf8' | null = 'utf8'): Promise<string | Buffer | undefined> {
  try {
    return await readFile(path, encoding === null ? undefined : encoding);
  } catch (err) {
    if (isEnoent(err)) return undefined;
    throw err;
  }
}

/** Size of a regular file; undefined when missing. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch (err) {
    if (isEnoent(err)) return undefined;
    throw err;
  }
}

/** Writes `content` to `path` through a temp file + rename, so readers never see a partial file. */
export async function writeAtomic(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Flushes a file's data to disk (before it is renamed into place). */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Streams a file through `algorithm`: `<algorithm>:<hex>`. */
export async function hashFile(path: string, algorithm: DigestAlgorithm): Promise<string> {
  return (await digestStream(createReadStream(path, { highWaterMark: 1024 * 1024 }), algorithm)).digest;
}

/** The names in a directory; none when it (or a parent) does not exist. */
export async function readdirOptional(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isEnoent(err)) return [];
    throw err;
  }
}

/** Sets a file's mtime to now (marks a blob as freshly used for the gc grace period). */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  try {
    await utimes(path, now, now);
  } catch (err) {
    if (!isEnoent(err)) throw err;
  }
}
