export * from './platform-file.js';
export * from './platform.js';
