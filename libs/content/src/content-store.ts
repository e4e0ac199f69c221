import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { parseDigest } from '@berth/oci';

/**
 * A content-addressable blob store on one host's disk, safe for several processes at once.
 *
 *   <root>/
 *     blobs/sha256/<hex>     committed blobs: complete, verified, never modified (only deleted)
 *     blobs/sha512/<hex>     (only when a writer asked for a sha512 digest)
 *     ingest/<pid>-<rand>    in-flight writes, private to the writer
 *
 * A blob becomes visible only by `rename(2)` from `ingest/` into `blobs/` after its digest and size
 * were checked and the data was fsynced, so readers never see partial or wrong content. Two writers
 * of the same blob each write their own temp file; the second rename replaces identical bytes.
 * Temp files of a writer that died (its pid is gone) or that are older than a day are removed when
 * a store is opened.
 */
export interface BlobInfo {
  digest: string;
  size: number;
}

export interface IngestOptions {
  /** The digest the content must have; otherwise the sha256 of what was read is used. */
  expected?: string;
  /** The size the content must have, in bytes. */
  size?: number;
}

export type BlobSource = Readable | AsyncIterable<Uint8Array> | Buffer | Uint8Array;

const STALE_INGEST_MS = 24 * 60 * 60 * 1000;

export class ContentStore {
  readonly root: string;
  readonly #ingestDir: string;

  /** Opens (creating if needed) the store at `root` and removes abandoned temp files. */
  constructor(root: string) {
    this.root = root;
    this.#ingestDir = join(root, 'ingest');
    // Closed to other users: blobs include configs and layers of private images.
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(this.#ingestDir, { recursive: true });
    this.cleanupIngest();
  }

  /**
   * Removes temp files in `ingest/` whose writer process no longer exists, or that are older than
   * `maxAgeMs` (default 24 h, which covers a recycled pid). Returns the names removed.
   */
  cleanupIngest(options: { maxAgeMs?: number } = {}): string[] {
    const maxAge = options.maxAgeMs ?? STALE_INGEST_MS;
    const removed: string[] = [];
    for (const name of readdirSync(this.#ingestDir)) {
      const file = join(this.#ingestDir, name);
      try {
        const pid = Number(name.split('-')[0]);
        const dead = !Number.isInteger(pid) || pid <= 0 || !processAlive(pid);
        if (dead || Date.now() - statSync(file).mtimeMs > maxAge) {
          unlinkSync(file);
          removed.push(name);
        }
      } catch {
        // Removed concurrently by another process opening the store: fine.
      }
    }
    return removed;
  }

  /** The file of a blob (whether or not it exists). Throws InvalidArgumentError for a bad digest. */
  path(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  /**
   * Writes a blob, verifying while streaming. With `expected`, a digest mismatch throws
   * InvalidArgumentError and leaves nothing behind; with `size`, so does a size mismatch (checked
   * as soon as more bytes than announced arrive). When `expected` is already stored, the source is
   * drained and nothing is written.
   */
  async ingest(source: BlobSource, options: IngestOptions = {}): Promise<BlobInfo> {
    const expected = options.expected;
    const algorithm = expected ? parseDigest(expected).algorithm : 'sha256';
    if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < 0)) {
      throw new InvalidArgumentError(`Invalid blob size ${options.size}: expected a non-negative integer`);
    }
    const existing = expected ? await this.#existingSize(expected) : undefined;
    if (expected && existing !== undefined) {
      if (options.size === undefined || options.size === existing) {
        await drain(source);
        return { digest: expected, size: existing };
      }
    }

    const temp = join(this.#ingestDir, `${process.pid}-${Date.now()}-${randomBytes(6).toString('hex')}`);
    const hash = createHash(algorithm);
    let size = 0;
    const fh = await open(temp, 'wx', 0o644);
    try {
      try {
        for await (const chunk of chunks(source)) {
          size += chunk.length;
          if (options.size !== undefined && size > options.size) {
            throw new InvalidArgumentError(
              `Cannot store blob${expected ? ` "${expected}"` : ''}: got more than the expected ${options.size} bytes`,
            );
          }
          hash.update(chunk);
          await fh.write(chunk);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const digest = `${algorithm}:${hash.digest('hex')}`;
      if (options.size !== undefined && size !== options.size) {
        throw new InvalidArgumentError(
          `Cannot store blob${expected ? ` "${expected}"` : ''}: got ${size} bytes, expected ${options.size}`,
        );
      }
      if (expected && digest !== expected) {
        throw new InvalidArgumentError(`Cannot store blob: content has digest "${digest}", expected "${expected}"`);
      }
      const target = this.path(digest);
      await mkdir(join(this.root, 'blobs', algorithm), { recursive: true });
      await rename(temp, target);
      return { digest, size };
    } catch (err) {
      await unlink(temp).catch(() => undefined); // the write's error is what the caller sees; a temp left in ingest/ is removed at the next open
      throw err;
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.#existingSize(digest)) !== undefined;
  }

  /** Digest and size of a stored blob; NotFoundError `No such blob: sha256:…` otherwise. */
  async info(digest: string): Promise<BlobInfo> {
    const size = await this.#existingSize(digest);
    if (size === undefined) throw notFound(digest);
    return { digest, size };
  }

  /** The whole blob in memory: for manifests and configs, not layers. */
  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (err) {
      throw isEnoent(err) ? notFound(digest, err) : err;
    }
  }

  async readJson<T>(digest: string): Promise<T> {
    const data = await this.read(digest);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch (err) {
      throw new InvalidArgumentError(`Blob "${digest}" is not valid JSON`, { cause: err });
    }
  }

  /** Streams a blob; the stream fails with NotFoundError when the blob does not exist. */
  createReadStream(digest: string): Readable {
    const file = this.path(digest);
    async function* read(): AsyncGenerator<Buffer> {
      let fh;
      try {
        fh = await open(file, 'r');
      } catch (err) {
        throw isEnoent(err) ? notFound(digest, err) : err;
      }
      try {
        for await (const chunk of fh.createReadStream({ autoClose: false })) yield chunk as Buffer;
      } finally {
        await fh.close();
      }
    }
    return Readable.from(read(), { objectMode: false });
  }

  /** Removes a blob; removing a missing blob is not an error (another process may have won). */
  async delete(digest: string): Promise<void> {
    await unlink(this.path(digest)).catch((err) => {
      if (!isEnoent(err)) throw err;
    });
  }

  /** Every committed blob (never the ones still being written). */
  async *list(): AsyncIterable<BlobInfo> {
    for (const [algorithm, length] of [
      ['sha256', 64],
      ['sha512', 128],
    ] as const) {
      const dir = join(this.root, 'blobs', algorithm);
      const names = await readdir(dir).catch((err) => (isEnoent(err) ? [] : Promise.reject(err)));
      for (const name of names) {
        if (name.length !== length || !/^[a-f0-9]+$/.test(name)) continue;
        const st = await stat(join(dir, name)).catch(() => undefined); // removed meanwhile: skipped
        if (st?.isFile()) yield { digest: `${algorithm}:${name}`, size: st.size };
      }
    }
  }

  async #existingSize(digest: string): Promise<number | undefined> {
    try {
      const st = await stat(this.path(digest));
      return st.isFile() ? st.size : undefined;
    } catch (err) {
      if (isEnoent(err)) return undefined;
      throw err;
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function* chunks(source: BlobSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}

async function drain(source: BlobSource): Promise<void> {
  if (source instanceof Uint8Array) return;
  for await (const _ of source as AsyncIterable<unknown>) {
    // discard
  }
}

function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function notFound(digest: string, cause?: unknown): NotFoundError {
  return new NotFoundError(`No such blob: ${digest}`, { code: 'BLOB_UNKNOWN', cause });
}
