import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { homeDir } from '../home-dir.js';

/**
 * V8's code cache of the CLI bundle's files (bench/README.md, "CLI start-up"): what V8 compiled
 * for a file in one run (its top level and every function that ran), read back by the next run so
 * that V8 need not parse and compile that file again.
 *
 * A cache file holds bytecode V8 will run, so it is trusted only as much as the code itself:
 * - the directory is the user's own and closed to others (root: /var/cache/berth/cli, 0700; any
 *   other user: $XDG_CACHE_HOME/berth/cli or ~/.cache/berth/cli, 0700), made so when missing, and
 *   not used at all when it is a symbolic link, someone else's, or open to group or others;
 * - a file is read only when it is a regular file of the same owner that no one else may write;
 * - its name and header carry the key of the source it was made from (the file's SHA-256 from the
 *   build), and its name V8's version: a cache of another bundle or Node is never used for this one;
 * - V8 checks the checksum it writes into each cache, so a damaged file is rejected (and made again,
 *   as when missing). A release build of V8 does so only with `--verify-snapshot-checksum` (else it
 *   checks only its version, flags and the source's length), which openCodeCache sets (node:v8's
 *   setFlagsFromString, through setV8Flag below). Not on Node's command line: there V8 also checks the checksum of
 *   Node's start-up snapshot, +2 ms of every start. A cache made without the flag carries another
 *   flag hash, and V8 rejects it. (A CRC-32 of our own, through node:zlib, cost every command ~2 ms
 *   to load that module.)
 * Writes go to a temporary file renamed over the old one: a reader sees a whole file or none.
 */
export interface CodeCache {
  read(key: string): Buffer | undefined;
  write(key: string, data: Buffer): void;
  /** Removes the oldest files while they take more than `maxBytes` (every build makes new keys). */
  prune(maxBytes?: number): void;
}

const MAGIC = 'BERTHV8D'; // C: with a CRC-32 of our own after the key
const HEADER = MAGIC.length + 64; // magic, key (64 hex)
const MAX_BYTES = 64 * 1024 * 1024;
// The caches of ~30 builds of the CLI (~1.5 MB each for a dozen commands): a development machine's
// worktrees share the directory without evicting one another's caches at every run.
const KEEP_BYTES = 48 * 1024 * 1024;

/** The cache directory for this user: root's under /var/cache, anyone else's under their own home. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (process.geteuid?.() === 0) return '/var/cache/berth/cli';
  return join(env.XDG_CACHE_HOME || join(homeDir(env), '.cache'), 'berth', 'cli');
}

/** The cache in `dir`, or undefined when `dir` cannot be trusted (see above) or made. */
export function openCodeCache(dir: string): CodeCache | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  setV8Flag('--verify-snapshot-checksum');
  let st;
  try {
    st = lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = lstatSync(dir);
    }
  } catch {
    return undefined; // read-only or missing home: run without a cache
  }
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined;
  const fileOf = (key: string) => join(dir, `${key}-v8-${process.versions.v8}.bin`);
  return {
    read(key) {
      const expected = header(key);
      let fd: number;
      try {
        fd = openSync(fileOf(key), 'r');
      } catch {
        return undefined; // not made yet
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile() || st.uid !== uid || (st.mode & 0o022) !== 0 || st.size <= HEADER || st.size > MAX_BYTES) return undefined;
        const bytes = Buffer.allocUnsafe(st.size);
        if (readSync(fd, bytes, 0, st.size, 0) !== st.size) return undefined;
        return bytes.subarray(0, HEADER).equals(expected) ? bytes.subarray(HEADER) : undefined;
      } finally {
        closeSync(fd);
      }
    },
    write(key, data) {
      const head = header(key);
      const file = fileOf(key);
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, Buffer.concat([head, data]), { mode: 0o600, flag: 'wx' });
        renameSync(tmp, file);
      } catch {
        rmSync(tmp, { force: true }); // a full disk or a race with another run: this run's result stands without a cache
      }
    },
    prune(maxBytes = KEEP_BYTES) {
      try {
        const files = readdirSync(dir)
          .filter((name) => name.endsWith('.bin'))
          .map((name) => ({ path: join(dir, name), st: statSync(join(dir, name), { throwIfNoEntry: false }) }))
          .filter((f) => f.st !== undefined)
          .sort((a, b) => a.st!.mtimeMs - b.st!.mtimeMs);
        let total = files.reduce((sum, f) => sum + f.st!.size, 0);
        for (const f of files) {
          if (total <= maxBytes) break;
          rmSync(f.path, { force: true });
          total -= f.st!.size;
        }
      } catch {
        // another run pruning at the same time: what is left is pruned next time
      }
    },
  };
}

function header(key: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`Code cache key "${key}" is not a SHA-256`);
  return Buffer.from(`${MAGIC}${key}`, 'latin1');
}

/**
 * node:v8's setFlagsFromString without node:v8, which loads node:stream (for its heap snapshots'
 * streams) as it is imported: ~4.5 ms of every command that loads no stream otherwise (`node -e
 * 'require("v8")'` against `node -e 0`; bench/README.md, "ps, inspect, rm: no node:net, no
 * node:stream"). The same function of Node's own binding, through `process.binding('v8')`, whose
 * deprecation warning (DEP0111) is silenced for that one access; node:v8 where the binding lacks it.
 */
function setV8Flag(flag: string): void {
  const quiet = process.noDeprecation;
  let binding: { setFlagsFromString?: unknown } | undefined;
  try {
    process.noDeprecation = true;
    binding = (process as unknown as { binding(name: string): { setFlagsFromString?: unknown } }).binding('v8');
  } catch {
    binding = undefined;
  } finally {
    process.noDeprecation = quiet;
  }
  if (typeof binding?.setFlagsFromString === 'function') (binding.setFlagsFromString as (flags: string) => void)(flag);
  else process.getBuiltinModule('node:v8').setFlagsFromString(flag);
}
