export * from './loopback-ports.js';
export * from './platform-file.js';
export * from './platform-settings.js';
export * from './platform-secrets.js';
export * from './process-liveness.js';
export * from './service-entry.js';
export * from './stop-signals.js';
export * from './platform.js';
