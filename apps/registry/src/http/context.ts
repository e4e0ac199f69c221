import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/authorizer.js';
import type { PullThroughCache } from '../proxy/pull-through-cache.js';
import type { RegistryEventSink } from '../registry-events.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';

/** Everything a handler needs for one request. */
export interface HandlerContext {
  request: FastifyRequest;
  reply: FastifyReply;
  storage: FilesystemStorage;
  identity: Identity;
  /** Parsed query string (repeated keys become arrays). */
  query: Record<string, string | string[] | undefined>;
  deleteEnabled: boolean;
  /** Told about every manifest pushed or deleted (NATS events); absent: nobody listens. */
  events?: RegistryEventSink;
  /** Pull-through cache mode: where missing manifests and blobs come from (writes are refused). */
  proxy?: PullThroughCache;
}

/** First value of a query parameter. */
export function queryOne(query: HandlerContext['query'], key: string): string | undefined {
  const v = query[key];
  return Array.isArray(v) ? v[0] : v;
}

/** All values of a repeated query parameter. */
export function queryAll(query: HandlerContext['query'], key: string): string[] {
  const v = query[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** True when the request announces a body (a non-zero Content-Length, or a chunked one). */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}
