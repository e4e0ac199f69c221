export * from './logger.js';
export * from './service-logger.js';
export * from './timed-calls.js';
