export { Builder, type BuilderOptions, type BuildRequest, type BuildResult, type BuildSnapshotter } from './builder.js';
export { BuildCache, cacheKey, type CachedStep } from './build-cache.js';
export { builderService } from './builder-service.js';
export { ProgressWriter, Vertex } from './progress.js';
export { runContainer, type RunContainerOptions, type StepRuntime } from './run-container.js';
