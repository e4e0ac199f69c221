export * from './metadata-db.js';
export * from './no-space.js';
