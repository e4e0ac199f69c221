import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { InternalError } from '@berth/errors';
import { OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX } from './apply-layer.js';
import { readXattrsRecursive, type Xattrs } from './fs-commands.js';
import { encodeHeader, END_OF_ARCHIVE, paddingOf, type TarHeader } from './tar-format.js';

export interface PackDirectoryOptions {
  /**
   * Treat `dir` as an overlay upper dir: whiteout devices (0:0 character devices) become `.wh.NAME`
   * entries and opaque directories (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry.
   */
  upper?: boolean;
  /** Gzip the stream (the diffId is still the digest of the uncompressed tar). */
  gzip?: boolean;
  /** Paths relative to `dir` (`etc/hosts`) left out of the layer, a directory with all below it. */
  exclude?: readonly string[];
  /**
   * Pack only this child of `dir` (a file, a symlink, or a directory with what is under it), as
   * `docker cp` sends one path: the entry itself comes first, named `rename` when given.
   */
  include?: string;
  rename?: string;
}

export interface PackedLayer {
  /** The layer tar (gzipped when asked); read it to the end. */
  stream: Readable;
  /**
   * "sha256:<hex>" of the uncompressed tar; resolves once `stream` has been read to the end,
   * rejects if packing fails or the stream is destroyed early.
   */
  diffId: Promise<string>;
}

/**
 * Makes a layer tar of everything under `dir` (not `dir` itself), in a deterministic order: each
 * directory's entries sorted by name, whiteouts first, a directory before its contents. PAX format;
 * keeps uid/gid (numeric, no user names), permission bits, mtimes (whole seconds, as Docker does),
 * extended attributes (except overlayfs' own `trusted.overlay.*`), symlinks, device nodes and fifos;
 * files sharing an inode are emitted once and then as hardlinks to the first name. Sockets are
 * skipped. The tree is read lazily as the stream is consumed; it must not change meanwhile.
 */
export function packDirectory(dir: string, options: PackDirectoryOptions = {}): PackedLayer {
  const hash = createHash('sha256');
  let settle!: { resolve: (digest: string) => void; reject: (err: unknown) => void };
  const diffId = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  diffId.catch(() => {}); // a caller that only wants the stream must not crash the process
  let finished = false;
  const chunks = (async function* () {
    try {
      for await (const chunk of tarChunks(dir, options)) {
        hash.update(chunk);
        yield chunk;
      }
      finished = true;
      settle.resolve(`sha256:${hash.digest('hex')}`);
    } catch (err) {
      settle.reject(err);
      throw err;
    } finally {
      if (!finished) settle.reject(new InternalError(`Packing "${dir}" stopped before the end of the layer`));
    }
  })();
  const tar = Readable.from(chunks, { objectMode: false });
  if (!options.gzip) return { stream: tar, diffId };
  return { stream: pipeline(tar, createGzip(), () => {}), diffId };
}

const isWhiteoutDevice = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Linux dev_t → major/minor (glibc's encoding). */
function splitDevice(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  return {
    major: ((low >>> 8) & 0xfff) | ((high & ~0xfff) >>> 0),
    minor: (low & 0xff) | ((low >>> 12) & 0xfff00),
  };
}

async function* tarChunks(dir: string, options: PackDirectoryOptions): AsyncGenerator<Buffer> {
  const upper = options.upper ?? false;
  const exclude = new Set(options.exclude ?? []);
  const root = realpathSync(dir);
  const include = options.include;
  const xattrs = await readXattrsRecursive(include === undefined ? root : join(root, include));
  const firstNameOfInode = new Map<string, string>();

  const headerOf = (name: string, st: Stats, fields: Partial<TarHeader>): TarHeader => ({
    name,
    type: 'file',
    size: 0,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000),
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: keptXattrs(xattrs.get(join(root, name.replace(/\/$/, '')))),
    ...fields,
  });
  const empty = (name: string, st: Stats): TarHeader =>
    headerOf(name, st, { mode: 0, uid: 0, gid: 0, xattrs: new Map() });

  /** The archive name of a path under `root` (`include` renamed). */
  const archiveName = (path: string): string => {
    if (include === undefined || options.rename === undefined) return path;
    return path === include ? options.rename : `${options.rename}${path.slice(include.length)}`;
  };

  async function* walk(rel: string, only?: string): AsyncGenerator<Buffer> {
    // Synchronous metadata calls: microseconds each, where a thread-pool round trip per file made
    // packing several times slower.
    const names = (only === undefined ? readdirSync(join(root, rel)) : [only])
      .filter((name) => !exclude.has(rel === '' ? name : `${rel}/${name}`))
      .sort();
    const children = names.map((name) => ({ name, st: lstatSync(join(root, rel, name)) }));
    if (upper) {
      // Whiteouts first: the spec asks for them before sibling entries.
      for (const { name, st } of children.filter((c) => isWhiteoutDevice(c.st))) {
        yield encodeHeader(empty(join(rel, `${WHITEOUT_PREFIX}${name}`), st));
      }
    }
    for (const { name, st } of children) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (upper && isWhiteoutDevice(st)) continue;
      const entryName = archiveName(path);
      const header = (fields: Partial<TarHeader>) => ({ ...headerOf(path, st, fields), name: fields.type === 'directory' ? `${entryName}/` : entryName });
      if (st.isDirectory()) {
        const opaque = xattrs.get(join(root, path))?.get(OVERLAY_OPAQUE_XATTR)?.toString() === 'y';
        yield encodeHeader(header({ type: 'directory' }));
        if (upper && opaque) yield encodeHeader(empty(`${path}/${OPAQUE_WHITEOUT}`, st));
        yield* walk(path);
        continue;
      }
      if (st.nlink > 1) {
        const inode = `${st.dev}:${st.ino}`;
        const first = firstNameOfInode.get(inode);
        if (first !== undefined) {
          yield encodeHeader(header({ type: 'link', linkname: first }));
          continue;
        }
        firstNameOfInode.set(inode, entryName);
      }
      if (st.isFile()) {
        yield encodeHeader(header({ size: st.size }));
        yield* fileBody(join(root, path), st.size);
      } else if (st.isSymbolicLink()) {
        yield encodeHeader(header({ type: 'symlink', linkname: readlinkSync(join(root, path)) }));
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const { major, minor } = splitDevice(st.rdev);
        const type = st.isCharacterDevice() ? 'character-device' : 'block-device';
        yield encodeHeader(header({ type, devmajor: major, devminor: minor }));
      } else if (st.isFIFO()) {
        yield encodeHeader(header({ type: 'fifo' }));
      }
      // Sockets are not content (Docker skips them too).
    }
  }

  yield* walk('', include);
  yield END_OF_ARCHIVE;
}

/** Files up to this size are read in one synchronous call; bigger ones are streamed. */
const SMALL_FILE = 1024 * 1024;

async function* fileBody(path: string, size: number): AsyncGenerator<Buffer> {
  if (size <= SMALL_FILE) {
    const data = readFileSync(path);
    if (data.length !== size) throw new InternalError(`File "${path}" changed size while it was being packed`);
    yield Buffer.concat([data, Buffer.alloc(paddingOf(size))]);
    return;
  }
  let read = 0;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    if (read + buffer.length > size) break;
    read += buffer.length;
    yield buffer;
  }
  if (read !== size) throw new InternalError(`File "${path}" changed size while it was being packed`);
  const padding = paddingOf(size);
  if (padding > 0) yield Buffer.alloc(padding);
}

/** Drops overlayfs' bookkeeping attributes: they describe the upper dir, not the content. */
function keptXattrs(all: Xattrs | undefined): Xattrs {
  const kept: Xattrs = new Map();
  for (const [name, value] of all ?? []) if (!name.startsWith('trusted.overlay.')) kept.set(name, value);
  return kept;
}
