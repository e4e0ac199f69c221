export * from './subjects.js';
export * from './time-arg.js';
export * from './event-filter.js';
export * from './event-bus.js';
export * from './host-registry.js';
export * from './registry-directory.js';
export * from './compose-projects.js';
