import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createIgnoreMatcher, type IgnorePattern } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import type { TarWriteEntry } from '@berth/layers';

/**
 * One entry of a build context as the client lists it for a file sync (BuildKit's fsutil idea):
 * the builder compares it with what it kept from the last build and asks only for what changed,
 * keyed by path + type + size + mtime + mode.
 */
export interface ContextFile {
  /** Relative, `/`-separated, without `.` or `..` segments. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (`& 0o7777`). */
  mode: number;
  /** Bytes (files; 0 otherwise). */
  size: number;
  mtimeMs: number;
  /** The target of a symlink. */
  linkname?: string;
}

/**
 * The entries of the context directory `dir`, parents before children, names sorted: what a
 * `.dockerignore` (`patterns`) excludes is left out, except the paths in `keep` (the Dockerfile
 * and ignore files, which the builder reads). An ignored directory is still walked: a `!`
 * exception may bring back something inside. Owners are not listed (the context is 0:0).
 *
 * The walk uses the synchronous calls (a thread-pool round trip per entry cost ~4× as much:
 * 2,000 files, ~120 ms against ~30 ms), and gives the event loop a turn every few milliseconds,
 * between directories: `berth build` has already started its call, which connects meanwhile.
 */
export async function listContext(dir: string, options: { patterns?: IgnorePattern[]; keep?: Iterable<string> } = {}): Promise<ContextFile[]> {
  const ignored = createIgnoreMatcher(options.patterns ?? []);
  const keep = new Set(options.keep ?? []);
  const out: ContextFile[] = [];
  // Paths by concatenation, not path.join (whose normalising was ~15 % of the walk's CPU in the
  // CLI's profile), and each entry made once (no spread): 87 → 56 ms of CPU for bench/compare's
  // 2,044 entries in a fresh process at load 8 (bench/README.md, 4 December 2026).
  const root = dir.endsWith('/') ? dir : `${dir}/`;
  // Date.now, not performance.now: Node 20 loads node:perf_hooks (~1.5 ms) at the first use of `performance`.
  let turn = Date.now() + YIELD_EVERY_MS;
  const walk = async (rel: string): Promise<void> => {
    if (Date.now() >= turn) {
      await new Promise((resolve) => setImmediate(resolve));
      turn = Date.now() + YIELD_EVERY_MS;
    }
    const names = readdirSync(rel ? root + rel : dir).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatFields(root + path);
      const skip = ignored(path) && !keep.has(path);
      const kind = st.mode & S_IFMT;
      if (kind === S_IFDIR) {
        if (!skip) out.push({ path, type: 'dir', mode: st.mode & 0o7777, size: 0, mtimeMs: st.mtimeMs });
        if (!skip || ignored.shouldWalk(path)) await walk(path);
      } else if (skip) continue;
      else if (kind === S_IFLNK) out.push({ path, type: 'symlink', mode: st.mode & 0o7777, size: 0, mtimeMs: st.mtimeMs, linkname: readlinkSync(root + path) });
      else if (kind === S_IFREG) out.push({ path, type: 'file', mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs });
    }
  };
  await walk('');
  return out;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** What the walk reads of an entry's lstat. */
export interface LstatFields {
  mode: number;
  size: number;
  mtimeMs: number;
}

type RawLstat = (path: string, bigint: boolean, req: undefined, throwIfNoEntry: boolean) => Float64Array;

/**
 * Node's own lstat (its `fs` binding, through `process.binding`): the numbers `lstatSync` builds its
 * Stats from, without the Stats, its four Dates and the garbage of 2,000 of them: ~1/3 of the walk's
 * CPU in a fully cached `berth build` (bench/README.md). Undefined where the binding is not of the
 * shape expected (another Node): `lstatSync` then, as before. Errors are thrown as `lstatSync`'s.
 */
const rawLstat: RawLstat | undefined = (() => {
  const quiet = process.noDeprecation;
  try {
    process.noDeprecation = true;
    const binding = (process as unknown as { binding(name: string): { lstat?: unknown } }).binding('fs');
    if (typeof binding.lstat !== 'function') return undefined;
    const lstat = binding.lstat as RawLstat;
    // The layout this reads (mode at 1, size at 8, mtime at 12 and 13), checked once against lstatSync.
    // The binding answers in one array it shares with lstatSync, which fills it again for '/': what is
    // compared is where this reads and where Node's own Stats reads, in the same numbers.
    const probe = lstat('/', false, undefined, true);
    const known = lstatSync('/');
    const ok = probe instanceof Float64Array && probe.length >= 14 && probe[1] === known.mode && probe[12]! * 1e3 + probe[13]! / 1e6 === known.mtimeMs;
    return ok ? lstat : undefined;
  } catch {
    return undefined;
  } finally {
    process.noDeprecation = quiet;
  }
})();

/** `lstatSync(path)`'s mode, size and mtimeMs (the same numbers), thrown errors included. */
export function lstatFields(path: string): LstatFields {
  if (rawLstat === undefined) return lstatSync(path);
  const a = rawLstat(path, false, undefined, true); // Node's shared array: read at once
  // As Node's own Stats: milliseconds = seconds × 1e3 + nanoseconds / 1e6.
  return { mode: a[1]!, size: a[8]!, mtimeMs: a[12]! * 1e3 + a[13]! / 1e6 };
}

/** Whether `lstatFields` reads Node's binding (false: `lstatSync`). For the tests. */
export const lstatFromBinding = rawLstat !== undefined;

/** How long the walk runs before it lets the event loop turn. */
const YIELD_EVERY_MS = 4;

/** Bytes gathered before a chunk of the tar goes out (the CLI sends one gRPC message per chunk). */
const PACK_CHUNK = 256 * 1024;

/**
 * The entries as a tar stream (owners 0:0, modes and mtimes kept), read from `dir`, in chunks of
 * about 256 KiB: a small file is three pieces of tar (header, body, padding), and a message per
 * piece through the gateway cost the 2,000-file context of bench/compare 5 s of its 16 s cold build.
 */
export async function* packFiles(dir: string, files: Iterable<ContextFile>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const piece of packPieces(dir, files)) {
    parts.push(piece);
    size += piece.length;
    if (size >= PACK_CHUNK) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

async function* packPieces(dir: string, files: Iterable<ContextFile>): AsyncGenerator<Buffer> {
  // Loaded when files are sent, not with the listing: @berth/layers brings node:zlib, node:crypto and
  // node:stream, which a fully cached `berth build` (nothing to send) need not load.
  const { writeTar } = await import('@berth/layers');
  async function* entries(): AsyncGenerator<TarWriteEntry> {
    for (const f of files) {
      const header = { name: f.path, mode: f.mode, mtime: Math.floor(f.mtimeMs / 1000), uid: 0, gid: 0 };
      if (f.type === 'dir') yield { header: { ...header, type: 'directory' } };
      else if (f.type === 'symlink') yield { header: { ...header, type: 'symlink', linkname: f.linkname ?? '' } };
      else yield { header, body: readFileSync(join(dir, f.path)) }; // small reads: synchronous is cheaper, as for the listing
    }
  }
  yield* writeTar(entries());
}

/**
 * A listed path as the builder accepts it: relative, clean (what `posix.normalize` leaves as it
 * is: no empty, `.` or `..` segment, no leading or trailing `/`). InvalidArgumentError otherwise.
 * A scan of the string, not `normalize` + `split`: the builder checks every entry of a listing.
 */
export function checkContextPath(path: string): string {
  let start = 0;
  for (;;) {
    const end = path.indexOf('/', start);
    const length = (end < 0 ? path.length : end) - start;
    const dots = path.charCodeAt(start) === 46 && (length === 1 || (length === 2 && path.charCodeAt(start + 1) === 46));
    if (length === 0 || dots) throw new InvalidArgumentError(`Invalid context path "${path}": expected a clean relative path`);
    if (end < 0) return path;
    start = end + 1;
  }
}
