export * from './ports.js';
export * from './temp-dir.js';
export * from './nats-server.js';
export * from './process-exit.js';
export * from './registry-process.js';
export * from './registry-seed.js';
export * from './test-platform.js';
