export * from './worker.js';
export { type CollectScope, LeaseManager, type LeaseManagerOptions, type ResourceCollector } from './lease-manager.js';
export { HostCollector, unmountBelow, type HostCollectorOptions } from './host-collector.js';
export { LocalWorker, type LocalWorkerOptions } from './local-worker.js';
export { runTask, type RunTaskOptions, type TaskRuntime } from './run-task.js';
export { snapshotDirs } from './mount-dirs.js';
export * as workerProto from './convert.js';
