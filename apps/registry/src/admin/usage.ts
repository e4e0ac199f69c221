import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSize, isEnoent, readOptional } from '../storage/fs-util.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';

export interface RepositoryUsage {
  name: string;
  /** Distinct blobs linked into the repository: layers, configs and manifests. */
  blobs: number;
  /** Their total size (a blob shared with another repository counts in both). */
  bytes: number;
  manifests: number;
  tags: number;
}

export interface StorageUsage {
  repositories: RepositoryUsage[];
  /** Distinct blobs stored, each counted once however many repositories link it. */
  blobs: number;
  bytes: number;
  /** Upload sessions present (in progress, or abandoned until gc). */
  uploads: number;
}

/**
 * What the storage holds, per repository and in total, read from the layout (paths.ts) without
 * locking: figures taken during a push may be a moment behind.
 */
export async function storageUsage(storage: FilesystemStorage): Promise<StorageUsage> {
  const { paths } = storage;
  const repositories: RepositoryUsage[] = [];
  let uploads = 0;
  for (const name of await storage.listRepositories()) {
    const hexes = new Set<string>();
    for (const hex of await list(paths.layersDir(name))) if ((await readOptional(join(paths.layersDir(name), hex, 'link'))) !== undefined) hexes.add(hex);
    let manifests = 0;
    for (const hex of await list(paths.revisionsDir(name))) {
      if ((await readOptional(join(paths.revisionsDir(name), hex, 'link'))) === undefined) continue;
      manifests++;
      hexes.add(hex);
    }
    let blobs = 0;
    let bytes = 0;
    for (const hex of hexes) {
      const size = await fileSize(paths.blobData({ algorithm: 'sha256', hex }));
      if (size === undefined) continue; // link left behind by a gc'd blob
      blobs++;
      bytes += size;
    }
    const tags = (await storage.listTags(name).catch(() => [])).length;
    uploads += (await list(paths.uploadsDir(name))).length;
    repositories.push({ name, blobs, bytes, manifests, tags });
  }
  let blobs = 0;
  let bytes = 0;
  for (const prefix of await list(paths.blobsDir)) {
    for (const hex of await list(join(paths.blobsDir, prefix))) {
      const size = await fileSize(join(paths.blobsDir, prefix, hex, 'data'));
      if (size === undefined) continue;
      blobs++;
      bytes += size;
    }
  }
  return { repositories, blobs, bytes, uploads };
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isEnoent(err)) return [];
    throw err;
  }
}
