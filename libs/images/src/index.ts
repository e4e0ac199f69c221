export * from './image-store.js';
export * from './types.js';
export { applyChanges, splitWords } from './config-changes.js';
export { ingestLayer, measureLayer, decompressed } from './layer-blobs.js';
export type { IngestedLayer } from './layer-blobs.js';
export { normalizeFilters } from './list-filters.js';
export type { ImageFilters } from './list-filters.js';
export { busyboxRootfs, debianMirror, DEFAULT_PATH } from './bootstrap.js';
export type { BootstrapOptions } from './bootstrap.js';
