export { Builder, type BuilderOptions } from './builder.js';
export type { BuildCallbacks, BuildOutputType, BuildRequest, BuildResult } from './build-request.js';
export { BuildCache, CACHE_LEASE, type CachedStep } from './cache/build-cache.js';
export { cacheKey } from './cache/cache-key.js';
export { BUILD_CACHE_MEDIA_TYPE, type CacheRecord, exportCache, parseCacheSpec, RemoteCache } from './cache/registry-cache.js';
export { ProgressWriter, Vertex } from './progress.js';
export type { ContextSync } from './context/context-store.js';
