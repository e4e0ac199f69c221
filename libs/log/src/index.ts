export * from './logger.js';
export * from './service-logger.js';
