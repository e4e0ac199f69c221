export {
  Builder,
  type BuildCallbacks,
  type BuilderOptions,
  type BuildOutputType,
  type BuildRegistry,
  type BuildRequest,
  type BuildResult,
  type BuildSnapshotter,
  type TransferEvent,
} from './builder.js';
export { BuildCache, cacheKey, type CachedStep } from './build-cache.js';
export { builderService } from './builder-service.js';
export { ProgressWriter, Vertex } from './progress.js';
export { BUILD_CACHE_MEDIA_TYPE, type CacheRecord, exportCache, parseCacheSpec, RemoteCache } from './registry-cache.js';
export { runContainer, type RunContainerOptions, type StepRuntime } from './run-container.js';
