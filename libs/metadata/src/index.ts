export * from './metadata-db.js';
