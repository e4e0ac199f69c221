import { join } from 'node:path';
import { parseDigest } from '../digest.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';
import { fileSize, readdirOptional as list } from '../storage/fs-util.js';
import { linkedDigests, storedBlobs } from '../storage/layout-scan.js';

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
    const revisions = await linkedDigests((algorithm) => paths.revisionsDir(name, algorithm));
    const digests = new Set([...(await linkedDigests((algorithm) => paths.layersDir(name, algorithm))), ...revisions]);
    const manifests = revisions.length;
    let blobs = 0;
    let bytes = 0;
    for (const digest of digests) {
      const size = await fileSize(paths.blobData(parseDigest(digest)));
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
  for (const { dir } of await storedBlobs(paths)) {
    const size = await fileSize(join(dir, 'data'));
    if (size === undefined) continue;
    blobs++;
    bytes += size;
  }
  return { repositories, blobs, bytes, uploads };
}
