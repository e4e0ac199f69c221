export * from './generated/berth/v1/images.js';
export * from './generated/berth/v1/containers.js';
export * from './generated/berth/v1/events.js';
export * from './generated/berth/v1/agent.js';
export * from './grpc.js';
export * from './forward.js';
