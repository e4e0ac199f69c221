import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { checkContextPath, type ContextFile } from '@berth/filesync';
import { securePath } from '@berth/runtime';
import type { PhaseTrace } from '../phase-trace.js';
import { type ReceivedFile, receiveFiles } from './receive-files.js';

/** The client's side of a file sync: its listing, and the files the builder asks for. */
export interface ContextSync {
  /** A stable name of the client's context (the builder keeps one copy per key). */
  key: string;
  /**
   * The client's listing. A promise when it is still on its way: the builder starts the build
   * (its lease, the tag's lookup) as soon as the options are in, while the client lists.
   */
  files: ContextFile[] | PromiseLike<ContextFile[]>;
  /** Sends the files named (a tar of just those); called once per build, possibly with none (then never read). */
  fetch(paths: string[]): AsyncIterable<Uint8Array>;
}

/** What the builder keeps of each entry: the listing's metadata, and the content digest of a file. */
export interface IndexEntry extends Omit<ContextFile, 'path'> {
  digest?: string;
}

/** A synced context, held for one build: nobody else changes it until `release`. */
export interface SyncedContext {
  /** The context directory. */
  dir: string;
  /** Relative path → entry, for every entry of `dir`. */
  index: Map<string, IndexEntry>;
  /**
   * Checksums of this tree already made (copy-files.ts `checksumEntries`, keyed by what they cover),
   * kept from build to build while the tree does not change: a fully cached build's COPY of 2,000
   * files does not walk its index again. Emptied when anything of the tree changes.
   */
  checksums: Map<string, string>;
  /** Bytes the client sent for this build. */
  received: number;
  /** Files the client sent for this build. */
  sent: number;
  /** Drops paths removed from `dir` (by the .dockerignore) from the index. */
  forget(paths: string[]): void;
  /** Saves the index and lets the next build of this context in. */
  release(): Promise<void>;
}

/**
 * The contexts the builder keeps between builds, one per client context (BuildKit's file sync):
 *
 *   <root>/<sha256(key)>/tree/        the context's files, as of the last build
 *   <root>/<sha256(key)>/index.json   path → type, mode, size, mtime (and digest of files)
 *   <root>/<sha256(key)>/incoming/    the files of the sync in progress, moved into tree/ one by one
 *
 * A sync removes what the client no longer lists, asks for the files whose type, size, mtime or
 * mode changed, and moves exactly those into place. The index is set aside (`index.json.held`)
 * while a build holds the context, and written back when the build releases it (renamed back when
 * nothing changed): a builder that dies in between finds no index and starts over with a full
 * transfer. Builds of one context take turns.
 */
export class ContextStore {
  readonly #root: string;
  readonly #locks = new Map<string, Promise<void>>();
  /** The index of each context as this process last saved it (most recent last), valid while its file is there. */
  readonly #kept = new Map<string, { index: Map<string, IndexEntry>; checksums: Map<string, string> }>();

  constructor(root: string) {
    this.#root = root;
  }

  async sync(sync: ContextSync, options: { trace?: PhaseTrace } = {}): Promise<SyncedContext> {
    const name = createHash('sha256').update(sync.key).digest('hex');
    const files = await sync.files;
    const unlock = await this.#lock(name);
    try {
      return await this.#sync(name, { ...sync, files }, unlock, options.trace);
    } catch (err) {
      unlock();
      throw err;
    }
  }

  /** Removes every kept context not in use (`berth builder prune`); returns how many. */
  async prune(): Promise<number> {
    const names = await readdir(this.#root).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      if (this.#locks.has(name)) continue;
      await rm(join(this.#root, name), { recursive: true, force: true });
      this.#kept.delete(name);
      removed++;
    }
    return removed;
  }

  async #sync(name: string, sync: ContextSync & { files: ContextFile[] }, unlock: () => void, trace?: PhaseTrace): Promise<SyncedContext> {
    const base = join(this.#root, name);
    let t0 = performance.now();
    const mark = (phase: string) => {
      const now = performance.now();
      trace?.add(phase, now - t0);
      t0 = now;
    };
    const tree = join(base, 'tree');
    const indexFile = join(base, 'index.json');
    const wanted = new Map(sync.files.map((f) => [checkContextPath(f.path), f]));
    // The index is set aside until released (a builder that dies meanwhile finds none and starts
    // over); a context that did not change gets the same file back, not written again. The one
    // this process saved last is still in memory: the file is read only after a restart.
    const heldFile = `${indexFile}.held`;
    const setAside = await rename(indexFile, heldFile).then(
      () => true,
      () => false, // no index (a first sync, or a build that died): start over
    );
    const kept = setAside ? this.#kept.get(name) : undefined;
    let index = setAside ? (kept?.index ?? (await readIndex(heldFile))) : undefined;
    this.#kept.delete(name);
    if (!index) {
      await rm(base, { recursive: true, force: true });
      index = new Map();
    }
    await mkdir(tree, { recursive: true });
    let changed = false;
    mark('context.sync.read-index');

    // Gone, or changed type: removed (children before parents).
    for (const path of [...index.keys()].sort((a, b) => b.length - a.length)) {
      const want = wanted.get(path);
      if (want && want.type === index.get(path)!.type) continue;
      changed = true;
      await rm(join(tree, path), { recursive: true, force: true });
      index.delete(path);
    }
    // Directories are made here; files and symlinks that are new or changed come from the client.
    const need: string[] = [];
    for (const [path, f] of wanted) {
      const have = index.get(path);
      if (f.type === 'dir') {
        if (have && have.mode === f.mode && have.mtimeMs === f.mtimeMs) continue;
        changed = true;
        if (!have) await mkdir(await securePath(tree, path), { recursive: true, mode: f.mode });
        if (!have || have.mode !== f.mode) await chmod(await securePath(tree, path), f.mode);
        index.set(path, { type: 'dir', mode: f.mode, size: 0, mtimeMs: f.mtimeMs });
        continue;
      }
      if (have && have.size === f.size && have.mtimeMs === f.mtimeMs && have.mode === f.mode && have.linkname === f.linkname) continue;
      need.push(path);
    }
    if (need.length > 0) changed = true;
    mark('context.sync.compare');

    let received = 0;
    const incoming = join(base, 'incoming');
    await rm(incoming, { recursive: true, force: true });
    await mkdir(incoming);
    const source = sync.fetch(need);
    let got = new Map<string, ReceivedFile>();
    if (need.length > 0) ({ files: got, bytes: received } = await receiveFiles(incoming, source, new Set(need)));
    // Nothing asked for: the client sends no file, and the build goes on without waiting for the
    // end of that (empty) transfer — a round trip through the gateway saved.
    mark('context.sync.receive');
    // Into place, a few at a time. Every parent of a path is a directory of the listing (made
    // above), so a listed symlink can never lead a file out of the tree.
    const place = async (path: string) => {
      const f = wanted.get(path)!;
      for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
        if (wanted.get(path.slice(0, i))?.type !== 'dir') throw new InvalidArgumentError(`Invalid context entry "${path}": its parent "${path.slice(0, i)}" is not a listed directory`);
      }
      const sent = got.get(path);
      if (sent?.type !== f.type) {
        throw new FailedPreconditionError(`The client did not send "${path}" of the context (it may have changed during the build)`);
      }
      const from = sent.tmp;
      const to = join(tree, path);
      // A rename replaces the file or symlink of the last build; anything else there is removed first.
      await rename(from, to).catch(async () => {
        await rm(to, { recursive: true, force: true });
        await rename(from, to);
      });
      const entry: IndexEntry = { type: f.type, mode: f.mode, size: f.size, mtimeMs: f.mtimeMs, ...(f.linkname !== undefined ? { linkname: f.linkname } : {}) };
      if (f.type === 'file') entry.digest = sent.digest!;
      index.set(path, entry);
    };
    for (let i = 0; i < need.length; i += 32) await Promise.all(need.slice(i, i + 32).map(place));
    await rm(incoming, { recursive: true, force: true });
    mark('context.sync.place');

    const final = index;
    // Checksums made of the tree as it was stay true only if nothing changed.
    const checksums = !changed && kept ? kept.checksums : new Map<string, string>();
    let released = false;
    const keep = () => {
      this.#kept.set(name, { index: final, checksums });
      for (const old of this.#kept.keys()) if (this.#kept.size > KEPT_INDEXES) this.#kept.delete(old);
    };
    return {
      dir: tree,
      index: final,
      checksums,
      received,
      sent: need.length,
      forget(paths) {
        for (const p of paths) {
          for (const key of [...final.keys()]) {
            if (key !== p && !key.startsWith(`${p}/`)) continue;
            final.delete(key);
            changed = true; // the .dockerignore removed it from the tree: the index must follow
            checksums.clear();
          }
        }
      },
      async release() {
        if (released) return;
        released = true;
        try {
          if (!changed && (await rename(heldFile, indexFile).then(() => true, () => false))) return keep();
          await writeFile(`${indexFile}.tmp`, JSON.stringify(Object.fromEntries(final)));
          await rename(`${indexFile}.tmp`, indexFile);
          await rm(heldFile, { force: true });
          keep();
        } finally {
          unlock();
        }
      },
    };
  }

  /** Waits for the builds of this context before, then holds it; returns the release. */
  async #lock(name: string): Promise<() => void> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = previous.then(() => mine);
    this.#locks.set(name, chained);
    await previous;
    return () => {
      release();
      if (this.#locks.get(name) === chained) this.#locks.delete(name);
    };
  }
}

/** Indexes kept in memory (of the contexts built last): a 2,000-file one is ~0.5 MB. */
const KEPT_INDEXES = 8;

async function readIndex(file: string): Promise<Map<string, IndexEntry> | undefined> {
  try {
    return new Map(Object.entries(JSON.parse(await readFile(file, 'utf8')) as Record<string, IndexEntry>));
  } catch {
    return undefined; // missing or torn: start over
  }
}


