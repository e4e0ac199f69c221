import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, truncate, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestOf, type Descriptor, type Digester, type DigestAlgorithm, type ParsedDigest } from '@berth/oci';
import { looksLikeDigest, parseDigest } from '../digest.js';
import { isForeignLayer, parseManifest, type ParsedManifest } from '../manifest.js';
import { checkTag } from '../names.js';
import { RegistryError } from '../registry-error.js';
import { fileSize, fsyncFile, hashFile, isEnoent, readdirOptional, readOptional, touch, writeAtomic } from './fs-util.js';
import { noteReceived } from './gc-pacer.js';
import { linkedDigests } from './layout-scan.js';
import { RegistryPaths } from './paths.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface UploadStatus {
  uuid: string;
  /** Bytes received so far (the next chunk starts at this offset). */
  size: number;
  startedAt: Date;
}

/** Where a chunk goes: `start`/`end` come from a `Content-Range: <start>-<end>` header (inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

/** Buffer of the upload file's write stream: fewer, larger writes than the default 16 KiB. */
const WRITE_BUFFER = 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The registry's filesystem storage (layout in `paths.ts`). It keeps the invariants the HTTP layer
 * relies on:
 * - a blob becomes visible only by an atomic rename of a fully received, digest-verified upload,
 *   so a killed upload never leaves a partial blob behind;
 * - chunks of one upload are appended strictly in order (a wrong offset is `BLOB_UPLOAD_INVALID`
 *   with status 416) and never concurrently; a chunk with a Content-Range is appended whole or not
 *   at all (416 when its length differs from the range: nothing of it stays);
 * - a manifest is stored only when every blob / child manifest it references is in the repository.
 *
 * Errors are `RegistryError`s carrying the OCI code the HTTP layer answers with. Repository names
 * and tags are validated by the caller; digests are parsed here.
 */
export class FilesystemStorage {
  readonly paths: RegistryPaths;
  /**
   * Running digest of in-progress uploads, keyed by `name\0uuid`, in the algorithm the session was
   * started with (`?digest-algorithm=`, sha256 by default); lost on restart, and not the algorithm
   * of the closing `?digest=` at times: then completeUpload hashes the file instead.
   */
  private readonly hashes = new Map<string, Digester>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(root: string) {
    this.paths = new RegistryPaths(root);
  }

  // ------------------------------------------------------------------ blobs

  /**
   * Size of a blob linked into `name`; `BLOB_UNKNOWN` when it is not. Manifests count as blobs too.
   * Two stat(2)s (the link, the data), nothing read: what a HEAD costs.
   */
  async statBlob(name: string, digest: string): Promise<BlobInfo> {
    const d = parseDigest(digest);
    const size = (await this.isLinked(name, d)) ? await fileSize(this.paths.blobData(d)) : undefined;
    if (size === undefined) throw blobUnknown(name, digest);
    return { digest, size };
  }

  /**
   * Opens a blob linked into `name` for reading, with its size; `BLOB_UNKNOWN` when it is not. The
   * caller closes the file. Reading an open file is safe from a gc that removes it meanwhile.
   */
  async openBlob(name: string, digest: string): Promise<{ size: number; file: FileHandle }> {
    const d = parseDigest(digest);
    if (!(await this.isLinked(name, d))) throw blobUnknown(name, digest);
    let file: FileHandle;
    try {
      file = await open(this.paths.blobData(d), 'r');
    } catch (err) {
      if (isEnoent(err)) throw blobUnknown(name, digest);
      throw err;
    }
    try {
      return { size: (await file.stat()).size, file };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  private async isLinked(name: string, d: ParsedDigest): Promise<boolean> {
    return (await fileSize(this.paths.layerLink(name, d))) !== undefined || (await fileSize(this.paths.revisionLink(name, d))) !== undefined;
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    try {
      await this.statBlob(name, digest);
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.registryCode === 'BLOB_UNKNOWN') return false;
      throw err;
    }
  }

  /** Unlinks a blob from `name` (the bytes stay until `gc`); `BLOB_UNKNOWN` if it was not linked. */
  async deleteBlob(name: string, digest: string): Promise<void> {
    const d = parseDigest(digest);
    if ((await fileSize(this.paths.layerLink(name, d))) === undefined) throw blobUnknown(name, digest);
    await rm(dirname(this.paths.layerLink(name, d)), { recursive: true, force: true });
  }

  /**
   * Links a blob of repository `from` into `name` (cross-repository mount). Returns undefined when
   * `from` does not have it, so the caller falls back to a normal upload.
   */
  async mountBlob(name: string, digest: string, from: string): Promise<BlobInfo | undefined> {
    if (!(await this.hasBlob(from, digest))) return undefined;
    const d = parseDigest(digest);
    await touch(this.paths.blobData(d));
    await this.linkBlob(name, d);
    return this.statBlob(name, digest);
  }

  private async linkBlob(name: string, d: ParsedDigest): Promise<void> {
    await writeAtomic(this.paths.layerLink(name, d), `${d.algorithm}:${d.hex}`);
  }

  // ---------------------------------------------------------------- uploads

  /**
   * Starts an upload session in `name`, hashing what arrives with `algorithm` (the client's
   * `?digest-algorithm=`; a session closed with another algorithm's digest is hashed again).
   */
  async startUpload(name: string, options: { algorithm?: DigestAlgorithm } = {}): Promise<UploadStatus> {
    const uuid = randomUUID();
    const startedAt = new Date();
    await mkdir(this.paths.uploadDir(name, uuid), { recursive: true });
    await writeAtomic(this.paths.uploadData(name, uuid), Buffer.alloc(0));
    await writeAtomic(this.paths.uploadStartedAt(name, uuid), startedAt.toISOString());
    this.hashes.set(this.key(name, uuid), createDigester(options.algorithm ?? 'sha256'));
    return { uuid, size: 0, startedAt };
  }

  /** The state of an upload session; `BLOB_UPLOAD_UNKNOWN` when it does not exist. */
  async uploadStatus(name: string, uuid: string): Promise<UploadStatus> {
    const size = UUID.test(uuid) ? await fileSize(this.paths.uploadData(name, uuid)) : undefined;
    if (size === undefined) {
      this.hashes.delete(this.key(name, uuid)); // removed by gc or another process
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `Upload "${uuid}" is unknown in repository "${name}": start a new upload`, {
        detail: { uuid },
      });
    }
    const startedAt = new Date((await readOptional(this.paths.uploadStartedAt(name, uuid))) ?? 0);
    return { uuid, size, startedAt };
  }

  /**
   * Appends a chunk to an upload. With `range`, its start must equal the bytes received so far,
   * else `BLOB_UPLOAD_INVALID` (status 416, with the current `Range`); the byte count received must
   * then equal the range's length, else the same 416 and the chunk is removed again.
   */
  async writeUpload(name: string, uuid: string, source: Readable, range?: ChunkRange): Promise<UploadStatus> {
    return this.withLock(this.key(name, uuid), async () => {
      await this.appendLocked(name, uuid, source, range);
      return this.uploadStatus(name, uuid);
    });
  }

  /**
   * Finishes an upload: appends the optional final chunk, checks the whole content against
   * `digest` and renames it into `blobs/`, then links it into `name`. On a digest mismatch the
   * session is removed and nothing is stored (`DIGEST_INVALID`).
   */
  async completeUpload(name: string, uuid: string, digest: string, chunk?: { source: Readable; range?: ChunkRange }): Promise<BlobInfo> {
    const d = parseDigest(digest);
    const key = this.key(name, uuid);
    return this.withLock(key, async () => {
      if (chunk) await this.appendLocked(name, uuid, chunk.source, chunk.range);
      const { size } = await this.uploadStatus(name, uuid);
      const data = this.paths.uploadData(name, uuid);
      const state = this.hashes.get(key);
      this.hashes.delete(key);
      const actual =
        state !== undefined && state.size === size && state.algorithm === d.algorithm ? state.digest() : await hashFile(data, d.algorithm);
      if (actual !== digest) {
        await rm(this.paths.uploadDir(name, uuid), { recursive: true, force: true });
        throw new RegistryError('DIGEST_INVALID', `Digest mismatch: the uploaded content (${size} bytes) has digest "${actual}", not "${digest}"`, {
          detail: { expected: digest, actual, size },
        });
      }
      await fsyncFile(data);
      await mkdir(this.paths.blobDir(d), { recursive: true });
      // rename(2) is atomic: readers see either no blob or the whole verified blob. Renaming over an
      // existing copy of the same content is harmless and refreshes its mtime for gc's grace period.
      await rename(data, this.paths.blobData(d));
      await this.linkBlob(name, d);
      await rm(this.paths.uploadDir(name, uuid), { recursive: true, force: true });
      return { digest, size };
    });
  }

  /** Cancels an upload session and removes its data; `BLOB_UPLOAD_UNKNOWN` when it does not exist. */
  async cancelUpload(name: string, uuid: string): Promise<void> {
    await this.withLock(this.key(name, uuid), async () => {
      await this.uploadStatus(name, uuid);
      this.hashes.delete(this.key(name, uuid));
      await rm(this.paths.uploadDir(name, uuid), { recursive: true, force: true });
    });
  }

  /** Monolithic upload: stores `source` as blob `digest` in `name`, or nothing at all on any error. */
  async putBlob(name: string, digest: string, source: Readable | Buffer): Promise<BlobInfo> {
    const { algorithm } = parseDigest(digest);
    const { uuid } = await this.startUpload(name, { algorithm });
    try {
      return await this.completeUpload(name, uuid, digest, { source: Buffer.isBuffer(source) ? Readable.from([source]) : source });
    } catch (err) {
      this.hashes.delete(this.key(name, uuid));
      await rm(this.paths.uploadDir(name, uuid), { recursive: true, force: true });
      throw err;
    }
  }

  private async appendLocked(name: string, uuid: string, source: Readable, range?: ChunkRange): Promise<void> {
    const key = this.key(name, uuid);
    const { size } = await this.uploadStatus(name, uuid);
    if (range !== undefined && range.start !== size) {
      source.resume(); // drain the body so the connection can be reused
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `Chunk out of order: Content-Range starts at ${range.start} but upload "${uuid}" has ${size} bytes, resume at offset ${size}`,
        { status: 416, detail: { offset: size }, headers: { range: rangeHeader(size) } },
      );
    }
    let state = this.hashes.get(key);
    if (state !== undefined && state.size !== size) {
      this.hashes.delete(key);
      state = undefined;
    }
    let written = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        state?.update(chunk);
        written += chunk.length;
        noteReceived(chunk.length);
        callback(null, chunk);
      },
    });
    const data = this.paths.uploadData(name, uuid);
    try {
      await pipeline(source, counter, createWriteStream(data, { flags: 'a', highWaterMark: WRITE_BUFFER }));
    } catch (err) {
      this.hashes.delete(key); // the hash may have seen bytes that never reached the file
      // A chunk with a Content-Range is all or nothing: drop what part of it arrived.
      if (range !== undefined) await truncate(data, size);
      throw err;
    }
    if (range !== undefined && range.end - range.start + 1 !== written) {
      // Rejected, so not appended: the file goes back to where it was, and the running hash (which
      // saw the bytes) is dropped; completeUpload hashes the file instead.
      await truncate(data, size);
      this.hashes.delete(key);
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `Content-Range ${range.start}-${range.end} announces ${range.end - range.start + 1} bytes but ${written} were received: the chunk was not appended, resume at offset ${size}`,
        { status: 416, detail: { offset: size }, headers: { range: rangeHeader(size) } },
      );
    }
  }

  // -------------------------------------------------------------- manifests

  /**
   * Stores a manifest in `name` under its digest and, when `reference` is a tag (or `tags` are
   * given), points those tags at it. The digest is sha256, or the algorithm of `reference` when it
   * is a digest (a manifest pushed by `sha512:…` is stored, served and tagged under that digest);
   * it must then match the body.
   * Throws `MANIFEST_INVALID`, `DIGEST_INVALID`, `TAG_INVALID` or `MANIFEST_BLOB_UNKNOWN`.
   * `verifyReferences: false` skips the check that referenced blobs and child manifests are
   * present (a pull-through cache stores a manifest before the blobs it fetches on demand).
   */
  async putManifest(
    name: string,
    reference: string,
    body: Buffer,
    options: { contentType?: string; tags?: string[]; verifyReferences?: boolean } = {},
  ): Promise<{ digest: string; manifest: ParsedManifest; tags: string[] }> {
    const byDigest = looksLikeDigest(reference);
    const digest = digestOf(body, byDigest ? parseDigest(reference).algorithm : 'sha256');
    const tags = [...(options.tags ?? [])];
    if (byDigest) {
      if (reference !== digest) {
        throw new RegistryError('DIGEST_INVALID', `Manifest digest mismatch: the body has digest "${digest}", not "${reference}"`, {
          detail: { expected: reference, actual: digest },
        });
      }
    } else {
      tags.unshift(reference);
    }
    tags.forEach(checkTag);
    const manifest = parseManifest(body, options.contentType);
    const verify = options.verifyReferences ?? true;
    for (const blob of verify ? manifest.blobs : []) {
      if (isForeignLayer(blob)) continue;
      if (!(await this.hasBlob(name, blob.digest))) {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `Manifest references blob "${blob.digest}" that is not in repository "${name}": push it first`, {
          detail: { digest: blob.digest },
        });
      }
    }
    for (const child of verify ? manifest.manifests : []) {
      if ((await readOptional(this.paths.revisionLink(name, parseDigest(child.digest)))) === undefined) {
        throw new RegistryError(
          'MANIFEST_BLOB_UNKNOWN',
          `Index references manifest "${child.digest}" that is not in repository "${name}": push it first`,
          { detail: { digest: child.digest } },
        );
      }
    }
    // Refresh the referenced blobs' mtimes so that a concurrent gc, which only sweeps blobs older
    // than its grace period, cannot remove them between this check and the revision link below.
    for (const blob of manifest.blobs) if (!isForeignLayer(blob)) await touch(this.paths.blobData(parseDigest(blob.digest)));

    const d = parseDigest(digest);
    await writeAtomic(this.paths.blobData(d), body);
    await writeAtomic(this.paths.revisionLink(name, d), digest);
    if (manifest.subject !== undefined) {
      await writeAtomic(this.paths.referrerLink(name, parseDigest(manifest.subject.digest), d), digest);
    }
    for (const tag of tags) await writeAtomic(this.paths.tagLink(name, tag), digest);
    return { digest, manifest, tags };
  }

  /** Resolves a tag or digest in `name`; `NAME_UNKNOWN` / `MANIFEST_UNKNOWN` when absent. */
  async getManifest(name: string, reference: string): Promise<StoredManifest> {
    const digest = await this.resolve(name, reference);
    const d = parseDigest(digest);
    const body = await readOptional(this.paths.blobData(d), null);
    if (body === undefined) throw manifestUnknown(name, reference);
    return { digest, mediaType: storedMediaType(body), body };
  }

  /**
   * Deletes a tag (the manifest stays), or a manifest by digest together with every tag pointing
   * at it. `MANIFEST_UNKNOWN` when absent. Returns the manifest digest and the tags removed.
   */
  async deleteManifest(name: string, reference: string): Promise<{ digest: string; tags: string[] }> {
    if (!looksLikeDigest(reference)) {
      checkTag(reference);
      const target = (await readOptional(this.paths.tagLink(name, reference)))?.trim();
      if (target === undefined) throw manifestUnknown(name, reference);
      await rm(this.paths.tagDir(name, reference), { recursive: true, force: true });
      return { digest: target, tags: [reference] };
    }
    const d = parseDigest(reference);
    const { body } = await this.getManifest(name, reference);
    const removedTags: string[] = [];
    for (const tag of await this.listTags(name)) {
      if ((await readOptional(this.paths.tagLink(name, tag))) === reference) {
        await rm(this.paths.tagDir(name, tag), { recursive: true, force: true });
        removedTags.push(tag);
      }
    }
    try {
      const subject = parseManifest(body).subject;
      if (subject) await rm(dirname(this.paths.referrerLink(name, parseDigest(subject.digest), d)), { recursive: true, force: true });
    } catch {
      // a stored manifest that no longer parses has no referrer entry to clean
    }
    await rm(dirname(this.paths.revisionLink(name, d)), { recursive: true, force: true });
    return { digest: reference, tags: removedTags };
  }

  /**
   * Removes repository `name` whole: its tags, manifest revisions, blob links, referrers and upload
   * sessions (the blobs' bytes stay until gc, as after any delete). `NAME_UNKNOWN` when it does not
   * exist. Returns the tags and manifest digests it had.
   */
  async deleteRepository(name: string): Promise<{ tags: string[]; manifests: string[] }> {
    const dir = this.paths.repository(name);
    // Nested repositories (`name/child`) live inside this directory: keep them, drop only the
    // `_`-prefixed directories that are this repository's own (the name grammar forbids `_` first).
    const own = await this.requireRepository(name);
    const tags = await this.listTags(name);
    const manifests = await linkedDigests((algorithm) => this.paths.revisionsDir(name, algorithm));
    for (const entry of own) await rm(join(dir, entry), { recursive: true, force: true });
    await rmdir(dir).catch(() => undefined); // kept when nested repositories live below it
    for (const key of this.hashes.keys()) if (key.startsWith(`${name}\0`)) this.hashes.delete(key);
    return { tags, manifests };
  }

  /** The tags of `name` in ASCII order; `NAME_UNKNOWN` when the repository does not exist. */
  async listTags(name: string): Promise<string[]> {
    await this.requireRepository(name);
    const tags: string[] = [];
    for (const tag of await readdirOptional(this.paths.tagsDir(name))) {
      if ((await readOptional(this.paths.tagLink(name, tag))) !== undefined) tags.push(tag);
    }
    return tags.sort(asciiCompare);
  }

  /** Every repository with at least one manifest or blob, in ASCII order. */
  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch((err) => {
        if (isEnoent(err)) return [];
        throw err;
      });
      if (prefix !== '' && entries.some((e) => e.isDirectory() && (e.name === '_manifests' || e.name === '_layers'))) found.push(prefix);
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('_')) await walk(`${dir}/${e.name}`, prefix === '' ? e.name : `${prefix}/${e.name}`);
      }
    };
    await walk(this.paths.repositoriesDir, '');
    return found.sort(asciiCompare);
  }

  /**
   * Descriptors of the manifests in `name` whose `subject` is `digest` (the referrers API), with
   * `artifactType` (falling back to the config media type for image manifests) and annotations.
   */
  async listReferrers(name: string, digest: string): Promise<Descriptor[]> {
    const result: Descriptor[] = [];
    const subject = this.paths.referrersDir(name, parseDigest(digest));
    for (const referrer of await linkedDigests((algorithm) => join(subject, algorithm))) {
      let stored: StoredManifest;
      try {
        stored = await this.getManifest(name, referrer);
      } catch (err) {
        if (err instanceof RegistryError && err.status === 404) continue; // deleted meanwhile
        throw err;
      }
      const m = parseManifest(stored.body);
      const descriptor: Descriptor = { mediaType: m.mediaType, digest: stored.digest, size: stored.body.length };
      const artifactType = m.artifactType ?? (m.kind === 'manifest' ? m.configMediaType : undefined);
      if (artifactType !== undefined) descriptor.artifactType = artifactType;
      if (m.annotations !== undefined) descriptor.annotations = m.annotations;
      result.push(descriptor);
    }
    return result.sort((a, b) => asciiCompare(a.digest, b.digest));
  }

  // ------------------------------------------------------------------ misc

  private async resolve(name: string, reference: string): Promise<string> {
    await this.requireRepository(name);
    if (looksLikeDigest(reference)) {
      const d = parseDigest(reference);
      if ((await readOptional(this.paths.revisionLink(name, d))) === undefined) throw manifestUnknown(name, reference);
      return reference;
    }
    checkTag(reference);
    const digest = (await readOptional(this.paths.tagLink(name, reference)))?.trim();
    if (digest === undefined || (await readOptional(this.paths.revisionLink(name, parseDigest(digest)))) === undefined) {
      throw manifestUnknown(name, reference);
    }
    return digest;
  }

  /**
   * `NAME_UNKNOWN` unless `name` holds something of its own (`_manifests`, `_layers`, `_uploads`,
   * …): a directory that only holds nested repositories (`team` of `team/web`) is not one.
   */
  private async requireRepository(name: string): Promise<string[]> {
    const own = (await readdirOptional(this.paths.repository(name))).filter((entry) => entry.startsWith('_'));
    if (own.length === 0) throw new RegistryError('NAME_UNKNOWN', `Repository "${name}" is unknown to this registry`, { detail: { name } });
    return own;
  }

  private key(name: string, uuid: string): string {
    return `${name}\0${uuid}`;
  }

  /** Runs `fn` after every earlier call with the same key has settled (per-upload serialization). */
  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn); // the previous holder's failure is its own caller's: only its end is waited for
    const tail = run.catch(() => undefined); // the chain only orders callers; each gets its own result from run
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

/** `Range: 0-<last byte>` as registry:2 writes it (`0-0` for an empty upload). */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function blobUnknown(name: string, digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `Blob "${digest}" is unknown in repository "${name}"`, { detail: { digest } });
}

function manifestUnknown(name: string, reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `Manifest "${reference}" is unknown in repository "${name}"`, {
    detail: { name, reference },
  });
}

/** The media type a stored manifest is served with: its `mediaType`, else what its shape says. */
function storedMediaType(body: Buffer): string {
  try {
    return parseManifest(body).mediaType;
  } catch {
    return 'application/octet-stream';
  }
}

export function asciiCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
