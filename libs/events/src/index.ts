export * from './subjects.js';
// Time arguments are parsed in @berth/filters; re-exported for the callers that took them from here.
export { parseTimeArg } from '@berth/filters';
export * from './event-filter.js';
export * from './event-bus.js';
export * from './announcement-bucket.js';
export * from './host-registry.js';
export * from './host-id.js';
export * from './registry-directory.js';
export * from './builder-directory.js';
export * from './nats-permissions.js';
export * from './nats-connect.js';
export * from './deadline.js';
