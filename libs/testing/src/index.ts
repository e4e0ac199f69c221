export * from './ports.js';
export * from './temp-dir.js';
export * from './nats-server.js';
export * from './test-platform.js';
export * from './system-user.js';
