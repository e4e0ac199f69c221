import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DIGEST_ALGORITHMS, isDigest, parseDigest } from '@berth/oci';
import { linkedDigests, storedBlobs } from './layout-scan.js';
import { fileSize, isEnoent, readdirOptional as list, readOptional } from './fs-util.js';
import { RegistryPaths } from './paths.js';

export interface GcOptions {
  /** Only report what would be removed. */
  dryRun?: boolean;
  /**
   * Blobs written or linked, and uploads active, within this period are never removed, so gc is
   * safe while clients push (a pushed layer is unreferenced until its manifest arrives). Default 1 h.
   */
  gracePeriodMs?: number;
  /** Receives one human-readable line per decision. */
  log?: (line: string) => void;
}

export interface GcResult {
  /** Blobs referenced by at least one manifest revision (manifests included). */
  marked: number;
  /** Blobs removed (or that would be, with dryRun). */
  removedBlobs: Array<{ digest: string; size: number }>;
  /** Unreferenced blobs kept because they are younger than the grace period. */
  keptRecent: string[];
  /** Stale upload sessions removed, as `<name>/<uuid>`. */
  removedUploads: string[];
  freedBytes: number;
}

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

/**
 * Mark-and-sweep garbage collection of a registry root (layout in `paths.ts`), of sha256 and sha512
 * content alike.
 *
 * Mark: every manifest revision of every repository, and everything it references: the config and
 * layers of an image manifest, the child manifests of an index (recursively). Sweep: every other
 * blob whose data is older than the grace period, the repository links that pointed at it, and
 * upload sessions idle for longer than the grace period.
 *
 * The server refreshes a blob's mtime whenever it is uploaded, mounted or referenced by a pushed
 * manifest, and gc re-reads the mtime just before removing a blob, so a push running during gc
 * keeps its blobs. Deleting a manifest or a blob only removes links; the bytes go at the next gc.
 */
export async function garbageCollect(root: string, options: GcOptions = {}): Promise<GcResult> {
  const paths = new RegistryPaths(root);
  const grace = options.gracePeriodMs ?? DEFAULT_GC_GRACE_MS;
  const log = options.log ?? (() => undefined);
  const verb = options.dryRun ? 'would remove' : 'removed';
  const repositories = await findRepositories(paths.repositoriesDir);

  // ---- mark
  const marked = new Set<string>();
  const markManifest = async (digest: string): Promise<void> => {
    if (!isDigest(digest) || marked.has(digest)) return;
    marked.add(digest);
    const body = await readOptional(paths.blobData(parseDigest(digest)));
    if (body === undefined) return;
    let json: { config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }>; manifests?: Array<{ digest?: unknown }> };
    try {
      json = JSON.parse(body);
    } catch {
      return; // not JSON: nothing else to keep
    }
    for (const d of [json.config, ...(Array.isArray(json.layers) ? json.layers : [])]) {
      if (typeof d?.digest === 'string' && isDigest(d.digest)) marked.add(d.digest);
    }
    for (const child of Array.isArray(json.manifests) ? json.manifests : []) {
      if (typeof child?.digest === 'string') await markManifest(child.digest);
    }
  };
  for (const repo of repositories) {
    for (const digest of await linkedDigests((algorithm) => paths.revisionsDir(repo, algorithm))) await markManifest(digest);
  }
  log(`marked ${marked.size} blobs referenced by ${repositories.length} repositories`);

  // ---- sweep blobs
  const result: GcResult = { marked: marked.size, removedBlobs: [], keptRecent: [], removedUploads: [], freedBytes: 0 };
  const removed = new Set<string>();
  for (const { digest, dir } of await storedBlobs(paths)) {
    if (marked.has(digest)) continue;
    const mtime = await mtimeMs(join(dir, 'data'));
    if (mtime !== undefined && Date.now() - mtime < grace) {
      result.keptRecent.push(digest);
      log(`kept ${digest}: unreferenced but written or used within the grace period`);
      continue;
    }
    const size = (await fileSize(join(dir, 'data'))) ?? 0;
    if (!options.dryRun) await rm(dir, { recursive: true, force: true });
    removed.add(digest);
    result.removedBlobs.push({ digest, size });
    result.freedBytes += size;
    log(`${verb} blob ${digest} (${size} bytes)`);
  }

  // ---- sweep links to removed blobs and stale uploads
  for (const repo of repositories) {
    for (const algorithm of DIGEST_ALGORITHMS) {
      const layers = paths.layersDir(repo, algorithm);
      for (const hex of await list(layers)) {
        if (removed.has(`${algorithm}:${hex}`) && !options.dryRun) await rm(join(layers, hex), { recursive: true, force: true });
      }
    }
    for (const uuid of await list(paths.uploadsDir(repo))) {
      const started = Date.parse((await readOptional(paths.uploadStartedAt(repo, uuid))) ?? '');
      const touched = Math.max((await mtimeMs(paths.uploadData(repo, uuid))) ?? 0, Number.isNaN(started) ? 0 : started);
      if (Date.now() - touched < grace) continue;
      if (!options.dryRun) await rm(paths.uploadDir(repo, uuid), { recursive: true, force: true });
      result.removedUploads.push(`${repo}/${uuid}`);
      log(`${verb} stale upload ${repo}/${uuid}`);
    }
  }
  log(`${verb} ${result.removedBlobs.length} blobs (${result.freedBytes} bytes) and ${result.removedUploads.length} uploads`);
  return result;
}

/** Repository names: directories under `repositories/` holding any `_manifests`, `_layers` or `_uploads`. */
async function findRepositories(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isEnoent(err)) return found;
    throw err;
  }
  if (prefix !== '' && entries.some((e) => e.isDirectory() && e.name.startsWith('_'))) found.push(prefix);
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith('_')) found.push(...(await findRepositories(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name)));
  }
  return found;
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    if (isEnoent(err)) return undefined;
    throw err;
  }
}
