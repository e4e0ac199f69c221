import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { type DeviceNode, makeNodes, writeXattrs, type Xattrs } from './fs-commands.js';
import { readTar, type TarHeader } from './tar-format.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
/** The xattr overlayfs reads to hide a directory's lower contents. */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface ApplyLayerOptions {
  /**
   * How whiteouts are applied. 'overlay' (default): `.wh.NAME` becomes an overlay whiteout (a 0:0
   * character device named NAME) and `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its
   * directory — for unpacking into an overlay upper dir. 'remove': the named paths (or the
   * directory's older children) are deleted — for flattening layers onto one plain directory.
   * 'none': `.wh.` names are ordinary files (`docker cp` into a container).
   */
  whiteouts?: 'overlay' | 'remove' | 'none';
  /** Own every entry by this uid:gid instead of the archive's (`docker cp` without `-a`). */
  owner?: { uid: number; gid: number };
  /**
   * Refuse to replace a directory by a non-directory or the reverse (Docker's
   * `NoOverwriteDirNonDir`, which `docker cp` sets): InvalidArgumentError naming both.
   */
  noOverwriteDirNonDir?: boolean;
  /**
   * The lower directories `target` is stacked on, top-most first (overlay lowerdir order). A
   * parent directory the layer implies but does not contain is created with the mode, owner and
   * mtime it has in the first lower that has it, so that it does not mask the lower's attributes.
   */
  lowers?: string[];
}

export interface ApplyLayerResult {
  /** "sha256:<hex>" of the uncompressed tar, every byte of it (trailing padding included). */
  diffId: string;
  /** Size in bytes of the uncompressed tar. */
  size: number;
}

/**
 * Unpacks a layer (plain or gzip tar, detected by its magic bytes) onto `target`, streaming: the
 * layer is never held in memory. Keeps regular files, directories, symlinks, hardlinks, device
 * nodes, fifos, modes (setuid/setgid/sticky included), owners, mtimes and extended attributes
 * (except overlayfs' own `trusted.overlay.*`, which only whiteouts may produce);
 * replaces whatever is at an entry's path unless both are directories (then they merge).
 *
 * Names are cleaned and taken relative to `target` (a leading "/" is dropped, as Docker and
 * containerd do). An entry that would climb above `target` with "..", that has a symlink among its
 * parent directories, or a hardlink whose target climbs out, is refused with InvalidArgumentError
 * naming the entry; nothing is ever written outside `target`. A whiteout only hides what lies
 * below its layer: it never removes an entry of the same layer.
 *
 * On error the source is destroyed and `target` is left partly written: discard it (the
 * snapshotter's active snapshot) rather than reuse it.
 */
export async function applyLayer(
  target: string,
  source: Readable,
  options: ApplyLayerOptions = {},
): Promise<ApplyLayerResult> {
  try {
    let root: string;
    try {
      root = realpathSync(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new NotFoundError(`Cannot apply layer: directory "${target}" does not exist`);
    }
    if (!lstatSync(root).isDirectory()) {
      throw new InvalidArgumentError(`Cannot apply layer: "${target}" is not a directory`);
    }
    const hash = createHash('sha256');
    let size = 0;
    const counted = (async function* () {
      for await (const chunk of decompress(source)) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    })();
    const applier = new Applier(root, options.whiteouts ?? 'overlay', options.lowers ?? [], options);
    for await (const entry of readTar(counted)) await applier.apply(entry.header, entry.body);
    await applier.finish();
    return { diffId: `sha256:${hash.digest('hex')}`, size };
  } catch (err) {
    source.destroy();
    throw err;
  }
}

/** Yields the tar bytes of `source`, gunzipping it when it starts with the gzip magic. */
async function* decompress(source: Readable): AsyncGenerator<Buffer> {
  const iterator: AsyncIterator<Buffer> = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 4 && !ended) {
    const next = await iterator.next();
    if (next.done) ended = true;
    else head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const all = async function* () {
    if (head.length > 0) yield head;
    while (!ended) {
      const next = await iterator.next();
      if (next.done) ended = true;
      else yield Buffer.from(next.value);
    }
  };
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    const done = pipeline(Readable.from(all()), gunzip);
    done.catch(() => {}); // surfaced by iterating gunzip, or awaited below
    for await (const chunk of gunzip) yield chunk as Buffer;
    await done;
  } else if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) {
    throw new InvalidArgumentError('Cannot apply layer: zstd-compressed layers are not supported, use gzip or plain tar');
  } else {
    yield* all();
  }
}

/** Thrown for every path that would leave the target: one message, naming the entry. */
function escapes(name: string, detail = ''): InvalidArgumentError {
  return new InvalidArgumentError(`Layer entry "${name}" escapes the target directory${detail}`, {
    code: 'LAYER_PATH_ESCAPE',
  });
}

/**
 * Cleans an archive name into a path relative to the root ('' is the root itself): leading "/"
 * dropped, "." and ".." resolved lexically; ".." above the root throws.
 */
export function cleanLayerPath(name: string, entry = name): string {
  const normalized = posix.normalize(name.replace(/^\/+/, '') || '.').replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) throw escapes(entry);
  return normalized === '.' ? '' : normalized;
}

function ancestors(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

const isWhiteoutDevice = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/**
 * The state of one `applyLayer` call. Filesystem calls are synchronous on purpose: each takes
 * microseconds, while a round trip through libuv's thread pool per lstat/chown/chmod/utimes made
 * unpacking several times slower (layers are thousands of small files). Only reading the
 * layer stream is asynchronous.
 */
class Applier {
  /** Paths (relative) of this layer's entries and of their parent directories. */
  private readonly touched = new Set<string>();
  /** Directories known to be real directories (not symlinks) inside the root. */
  private readonly verified = new Set<string>(['']);
  /** Directory mtimes, set last: creating children changes them. */
  private readonly dirTimes = new Map<string, number>();
  private readonly xattrs = new Map<string, Xattrs>();
  /** Relative paths of the overlay whiteouts to create at the end. */
  private readonly whiteouts = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly mode: 'overlay' | 'remove' | 'none',
    private readonly lowers: string[],
    private readonly options: Pick<ApplyLayerOptions, 'owner' | 'noOverwriteDirNonDir'> = {},
  ) {}

  async apply(header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = cleanLayerPath(header.name);
    if (rel === '') return; // the root entry ("./"): the target's own attributes are not the layer's
    const base = posix.basename(rel);
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    if (base.startsWith(WHITEOUT_PREFIX) && this.mode !== 'none') return this.whiteout(header.name, parent, base);

    await this.ensureDirectory(parent, header.name);
    const path = join(this.root, rel);
    const existing = lstatOrNull(path);
    if (existing && this.options.noOverwriteDirNonDir) {
      // moby/go-archive's messages, with the path inside the target.
      if (existing.isDirectory() && header.type !== 'directory') {
        throw new InvalidArgumentError(`cannot overwrite directory "/${rel}" with non-directory "${header.name}"`);
      }
      if (!existing.isDirectory() && header.type === 'directory') {
        throw new InvalidArgumentError(`cannot overwrite non-directory "/${rel}" with directory "${header.name}"`);
      }
    }
    let linkTarget: string | undefined;
    if (header.type === 'link') {
      const targetRel = cleanLayerPath(header.linkname, header.name);
      if (targetRel === rel) return this.touch(rel); // a link to itself: nothing to do
      linkTarget = await this.linkTarget(header, targetRel);
    }
    if (existing && !(existing.isDirectory() && header.type === 'directory')) await this.remove(rel);
    this.touch(rel);

    switch (header.type) {
      case 'directory':
        if (!existing?.isDirectory()) mkdirSync(path, 0o700);
        this.verified.add(rel);
        break;
      case 'file': {
        const fd = openSync(path, 'wx', 0o600);
        try {
          for await (const chunk of body) {
            for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
          }
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'symlink':
        symlinkSync(header.linkname, path);
        break;
      case 'link':
        // Shares the target's inode, owner, mode and times: the target's entry set them.
        linkSync(linkTarget!, path);
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await makeNodes([{ path, type: header.type, major: header.devmajor, minor: header.devminor, mode: 0o600 }]);
        break;
    }
    lchownSync(path, this.options.owner?.uid ?? header.uid, this.options.owner?.gid ?? header.gid);
    // After chown, which clears setuid/setgid; symlinks have no mode of their own on Linux.
    if (header.type !== 'symlink') chmodSync(path, header.mode);
    // overlayfs' own attributes (opaque, redirect, metacopy, ...) only ever come from whiteouts:
    // a layer must not steer the kernel's overlay lookups with them.
    const xattrs = new Map([...header.xattrs].filter(([name]) => !name.startsWith('trusted.overlay.')));
    if (xattrs.size > 0) this.xattrs.set(path, xattrs);
    if (header.type === 'directory') this.dirTimes.set(path, header.mtime);
    else lutimesSync(path, header.mtime, header.mtime);
  }

  /** Creates the overlay whiteouts, sets extended attributes, then directory mtimes. */
  async finish(): Promise<void> {
    const nodes: DeviceNode[] = [];
    for (const rel of this.whiteouts) {
      if (this.touched.has(rel)) continue; // recreated by this layer after its whiteout
      const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
      await this.ensureDirectory(parent, `${parent ? `${parent}/` : ''}${WHITEOUT_PREFIX}${posix.basename(rel)}`);
      if (lstatOrNull(join(this.root, rel))) await this.remove(rel);
      nodes.push({ path: join(this.root, rel), type: 'character-device', major: 0, minor: 0, mode: 0 });
    }
    await makeNodes(nodes);
    await writeXattrs([...this.xattrs].map(([path, xattrs]) => ({ path, xattrs })));
    const deepestFirst = [...this.dirTimes].sort(([a], [b]) => b.split('/').length - a.split('/').length);
    for (const [path, mtime] of deepestFirst) lutimesSync(path, mtime, mtime);
  }

  private touch(rel: string): void {
    this.touched.add(rel);
    for (const dir of ancestors(rel)) this.touched.add(dir);
  }

  private async whiteout(name: string, parent: string, base: string): Promise<void> {
    if (base === OPAQUE_WHITEOUT) {
      await this.ensureDirectory(parent, name);
      if (parent !== '') this.touch(parent);
      if (this.mode === 'overlay') {
        const path = join(this.root, parent);
        this.xattrs.set(path, new Map([...(this.xattrs.get(path) ?? []), [OVERLAY_OPAQUE_XATTR, Buffer.from('y')]]));
      } else {
        await this.removeOlderChildren(parent);
      }
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs metadata (.wh..wh.plnk, ...): not content
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..') {
      throw new InvalidArgumentError(`Layer entry "${name}" is a whiteout without a valid name to remove`);
    }
    const victimRel = parent === '' ? victim : `${parent}/${victim}`;
    if (this.touched.has(victimRel)) return; // a whiteout hides lower layers only
    if (this.mode === 'overlay') {
      await this.ensureDirectory(parent, name);
      this.whiteouts.add(victimRel);
    } else if (await this.existingDirectory(parent, name)) {
      if (lstatOrNull(join(this.root, victimRel))) await this.remove(victimRel);
    }
  }

  /** Deletes what `dir` holds that this layer did not put there (opaque whiteout, 'remove' mode). */
  private async removeOlderChildren(dir: string): Promise<void> {
    for (const child of readdirSync(join(this.root, dir), { withFileTypes: true })) {
      const rel = dir === '' ? child.name : `${dir}/${child.name}`;
      if (!this.touched.has(rel)) await this.remove(rel);
      else if (child.isDirectory()) await this.removeOlderChildren(rel);
    }
  }

  /**
   * Deletes `rel` and forgets everything queued under it, so that nothing deferred to `finish`
   * can land on whatever replaces it (a symlink pointing out of the root, for instance).
   */
  private async remove(rel: string): Promise<void> {
    const path = join(this.root, rel);
    rmSync(path, { recursive: true, force: true });
    const under = (p: string) => p === rel || p.startsWith(`${rel}/`);
    const underPath = (p: string) => p === path || p.startsWith(`${path}/`);
    for (const dir of this.verified) if (under(dir)) this.verified.delete(dir);
    for (const w of this.whiteouts) if (under(w) && w !== rel) this.whiteouts.delete(w);
    for (const p of this.dirTimes.keys()) if (underPath(p)) this.dirTimes.delete(p);
    for (const p of this.xattrs.keys()) if (underPath(p)) this.xattrs.delete(p);
  }

  /**
   * Makes sure `dir` (relative) is a real directory inside the root, creating missing ones (with a
   * lower's attributes when a lower has them). A symlink on the way is an escape attempt.
   */
  private async ensureDirectory(dir: string, entry: string): Promise<void> {
    if (this.verified.has(dir)) return;
    for (const rel of [...ancestors(dir), dir]) {
      if (this.verified.has(rel)) continue;
      const path = join(this.root, rel);
      const st = lstatOrNull(path);
      if (st === null) await this.createImplicitDirectory(rel);
      else if (st.isSymbolicLink()) throw escapes(entry, ` through the symlink "${rel}"`);
      else if (!st.isDirectory()) {
        throw new InvalidArgumentError(`Layer entry "${entry}" needs "${rel}" to be a directory, but it is not one`);
      }
      this.verified.add(rel);
    }
  }

  /** Like ensureDirectory, but creates nothing: false when some part of `dir` does not exist. */
  private async existingDirectory(dir: string, entry: string): Promise<boolean> {
    for (const rel of [...ancestors(dir), dir]) {
      if (this.verified.has(rel)) continue;
      const st = lstatOrNull(join(this.root, rel));
      if (st === null || !(st.isDirectory() || st.isSymbolicLink())) return false;
      if (st.isSymbolicLink()) throw escapes(entry, ` through the symlink "${rel}"`);
      this.verified.add(rel);
    }
    return true;
  }

  private async createImplicitDirectory(rel: string): Promise<void> {
    const path = join(this.root, rel);
    mkdirSync(path, 0o755);
    for (const lower of this.lowers) {
      const st = lstatOrNull(join(lower, rel));
      if (st === null) continue;
      if (!st.isDirectory()) break; // a whiteout or a file hides anything further down
      lchownSync(path, st.uid, st.gid);
      chmodSync(path, st.mode & 0o7777);
      this.dirTimes.set(path, st.mtimeMs / 1000);
      return;
    }
    chmodSync(path, 0o755);
  }

  /** The absolute path a hardlink entry links to: inside the root, not through a symlink, not a directory. */
  private async linkTarget(header: TarHeader, targetRel: string): Promise<string> {
    const targetParent = posix.dirname(targetRel) === '.' ? '' : posix.dirname(targetRel);
    if (!(await this.existingDirectory(targetParent, header.name))) throw this.missingLinkTarget(header);
    const path = join(this.root, targetRel);
    const st = lstatOrNull(path);
    if (st === null || isWhiteoutDevice(st)) throw this.missingLinkTarget(header);
    if (st.isDirectory()) {
      throw new InvalidArgumentError(`Layer entry "${header.name}" is a hardlink to directory "${header.linkname}"`);
    }
    return path;
  }

  private missingLinkTarget(header: TarHeader): InvalidArgumentError {
    return new InvalidArgumentError(
      `Layer entry "${header.name}" is a hardlink to "${header.linkname}", which is neither in the layer nor in the target directory`,
    );
  }
}
