import {
  handleUnary,
  type GarbageCollectRequest,
  type GarbageCollectResponse,
  type ListRepositoriesRequest,
  type ListRepositoriesResponse,
  type ListTagsRequest,
  type ListTagsResponse,
  type RegistryServer,
  type RegistryUsageRequest,
  type RegistryUsageResponse,
  type TagInfo,
} from '@berth/proto';
import { parseDuration } from '../config.js';
import { checkRepositoryName } from '../names.js';
import { RegistryError } from '../registry-error.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';
import { DEFAULT_GC_GRACE_MS, garbageCollect } from '../storage/gc.js';
import { storageUsage } from './usage.js';

/**
 * The gRPC `berth.v1.Registry` service over a registry's storage (the admin API the gateway
 * forwards to). Errors are RegistryErrors, whose kind gives the gRPC status (NAME_UNKNOWN →
 * NOT_FOUND, NAME_INVALID → INVALID_ARGUMENT). Garbage collections run one at a time.
 */
export function registryAdminService(storage: FilesystemStorage, options: { log?: (line: string) => void } = {}): RegistryServer {
  let gcRunning: Promise<unknown> = Promise.resolve();

  const tagsOf = async (name: string): Promise<TagInfo[]> => {
    const tags: TagInfo[] = [];
    for (const tag of await storage.listTags(name)) {
      try {
        const m = await storage.getManifest(name, tag);
        tags.push({ name: tag, digest: m.digest, mediaType: m.mediaType });
      } catch (err) {
        if (!(err instanceof RegistryError && err.status === 404)) throw err; // deleted meanwhile
      }
    }
    return tags;
  };

  return {
    listRepositories: handleUnary<ListRepositoriesRequest, ListRepositoriesResponse>(async () => {
      const repositories = [];
      for (const name of await storage.listRepositories()) {
        // A repository holding only blobs (an interrupted push) has no tags directory.
        const tags = await tagsOf(name).catch((err: unknown) => {
          if (err instanceof RegistryError && err.registryCode === 'NAME_UNKNOWN') return [];
          throw err;
        });
        repositories.push({ name, tags });
      }
      return { repositories };
    }),

    listTags: handleUnary<ListTagsRequest, ListTagsResponse>(async (request) => {
      checkRepositoryName(request.repository);
      return { repository: request.repository, tags: await tagsOf(request.repository) };
    }),

    usage: handleUnary<RegistryUsageRequest, RegistryUsageResponse>(async () => storageUsage(storage)),

    garbageCollect: handleUnary<GarbageCollectRequest, GarbageCollectResponse>(async (request) => {
      const gracePeriodMs = request.grace === '' ? DEFAULT_GC_GRACE_MS : parseDuration(request.grace);
      const run = gcRunning.catch(() => undefined).then(() => garbageCollect(storage.paths.root, { dryRun: request.dryRun, gracePeriodMs, log: options.log }));
      gcRunning = run;
      const result = await run;
      return {
        dryRun: request.dryRun,
        marked: result.marked,
        removed: result.removedBlobs,
        freedBytes: result.freedBytes,
        keptRecent: result.keptRecent.length,
        removedUploads: result.removedUploads.length,
      };
    }),
  };
}
