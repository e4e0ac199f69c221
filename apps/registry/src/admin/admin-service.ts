import {
  handleUnary,
  type GarbageCollectRequest,
  type GarbageCollectResponse,
  type ListRepositoriesRequest,
  type ListRepositoriesResponse,
  type ListTagsRequest,
  type ListTagsResponse,
  type RegistryInfoRequest,
  type RegistryInfoResponse,
  type RegistryServer,
  type RegistryUsageRequest,
  type RegistryUsageResponse,
  type RemoveRequest,
  type RemoveResponse,
  type TagInfo,
} from '@berth/proto';
import { parseDuration } from '../config.js';
import { looksLikeDigest } from '../digest.js';
import { checkRepositoryName } from '../names.js';
import type { RegistryEventSink } from '../registry-events.js';
import { RegistryError } from '../registry-error.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';
import { DEFAULT_GC_GRACE_MS, garbageCollect } from '../storage/gc.js';
import { storageUsage } from './usage.js';

export interface AdminServiceOptions {
  log?: (line: string) => void;
  /** Told about what Remove deletes (`image.delete`, as a DELETE through the HTTP API). */
  events?: RegistryEventSink;
  /** What Info answers: the address the registry listens on, its version, mode. */
  info?: RegistryInfoResponse;
}

/**
 * The gRPC `berth.v1.Registry` service over a registry's storage (the admin API the gateway
 * forwards to). Errors are RegistryErrors, whose kind gives the gRPC status (NAME_UNKNOWN →
 * NOT_FOUND, NAME_INVALID → INVALID_ARGUMENT). Garbage collections run one at a time.
 */
export function registryAdminService(storage: FilesystemStorage, options: AdminServiceOptions = {}): RegistryServer {
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

    remove: handleUnary<RemoveRequest, RemoveResponse>(async ({ repository, reference }) => {
      checkRepositoryName(repository);
      if (reference !== '') {
        // A tag, or a manifest by digest with every tag pointing at it (what DELETE /v2/…/manifests/ does).
        const { digest, tags } = await storage.deleteManifest(repository, reference);
        const byDigest = looksLikeDigest(reference);
        options.events?.notify(byDigest ? { action: 'delete', repository, digest, tags } : { action: 'delete', repository, digest, tag: reference, tags });
        return { repository, untagged: tags, deleted: byDigest ? [digest] : [], repositoryRemoved: false };
      }
      const tagged = await tagsOf(repository);
      const { tags, manifests } = await storage.deleteRepository(repository);
      for (const digest of manifests) {
        const its = tagged.filter((t) => t.digest === digest).map((t) => t.name);
        options.events?.notify({ action: 'delete', repository, digest, tags: its });
      }
      options.log?.(`removed repository "${repository}": ${tags.length} tags, ${manifests.length} manifests`);
      return { repository, untagged: tags, deleted: manifests, repositoryRemoved: true };
    }),

    info: handleUnary<RegistryInfoRequest, RegistryInfoResponse>(async () => {
      if (options.info === undefined) throw new RegistryError('UNSUPPORTED', 'This registry was not given its address: Info is unavailable');
      return options.info;
    }),

    garbageCollect: handleUnary<GarbageCollectRequest, GarbageCollectResponse>(async (request) => {
      const gracePeriodMs = request.grace === '' ? DEFAULT_GC_GRACE_MS : parseDuration(request.grace);
      // the previous gc's failure was its caller's to report: only its end is waited for
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
