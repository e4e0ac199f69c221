import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { isBerthError } from '@berth/errors';
import { AccessPolicy } from './auth/access-policy.js';
import { Authorizer, type AuthMode, type Requirement } from './auth/authorizer.js';
import { Htpasswd } from './auth/htpasswd.js';
import { deleteBlob, getBlob } from './http/blobs.js';
import type { HandlerContext } from './http/context.js';
import { listCatalog, listReferrers, listTags } from './http/listings.js';
import { deleteManifest, getManifest, putManifest } from './http/manifests.js';
import { matchEndpoint, type Endpoint } from './http/route-match.js';
import { deleteUpload, getUpload, patchUpload, postUpload, putUpload } from './http/uploads.js';
import { checkRepositoryName } from './names.js';
import type { ProxyOptions } from './proxy/pull-through-cache.js';
import type { RegistryEventSink } from './registry-events.js';
import { RegistryError } from './registry-error.js';
import { FilesystemStorage } from './storage/filesystem-storage.js';

export interface RegistryConfig {
  /** Storage root (layout in storage/paths.ts). */
  root: string;
  /** Default `none`. */
  auth?: AuthMode;
  /** htpasswd file (bcrypt); required for `basic` and `token`. */
  htpasswd?: string;
  /** Access file (user → repository glob → actions, see AccessPolicy); without it users may do anything. */
  accessFile?: string;
  /** Let anonymous clients pull. */
  anonymousPull?: boolean;
  /** Allow DELETE of manifests, tags and blobs. */
  deleteEnabled?: boolean;
  /** Token mode: the `service` of challenges and the tokens' audience. Default `berth-registry`. */
  tokenService?: string;
  /** Token mode: the tokens' issuer. Default `berth-registry-token-issuer`. */
  tokenIssuer?: string;
  /** Token mode: the realm URL; default `<scheme>://<Host header>/auth/token`. */
  tokenRealm?: string;
  /** Token mode: the ES256 signing key (PEM), generated when missing. Default `<root>/auth/token.key`. */
  tokenKeyFile?: string;
  /** Basic mode: realm of the challenge. */
  basicRealm?: string;
  /** Serve HTTPS with this certificate and key (PEM contents). */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** fastify logger setting; default off. */
  logger?: FastifyServerOptions['logger'];
  /**
   * The service's logger (libs/log serviceLogger), used instead of `logger`. Requests are logged
   * only at debug: at info a pull would write two lines per blob.
   */
  loggerInstance?: FastifyServerOptions['loggerInstance'];
  /** Told about every manifest pushed or deleted (e.g. NatsEventSink); default: nobody. */
  events?: RegistryEventSink;
  /** Run as a pull-through cache of this upstream: pulls fill the cache, pushes and deletes are refused. */
  proxy?: ProxyOptions;
}

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'] as const;

/**
 * Builds the registry's fastify app (not listening yet; test it with `app.inject()`). It serves the
 * OCI distribution API under `/v2/` and, in token mode, the token endpoint `/auth/token`.
 */
export async function buildApp(config: RegistryConfig): Promise<FastifyInstance> {
  const mode = config.auth ?? 'none';
  const policy = await AccessPolicy.load(config.accessFile, { anonymousPull: config.anonymousPull });
  let htpasswd: Htpasswd | undefined;
  if (mode !== 'none') {
    if (config.htpasswd === undefined) throw new RegistryConfigError(`Auth mode "${mode}" needs an htpasswd file (--htpasswd)`);
    htpasswd = await Htpasswd.load(config.htpasswd);
  }
  const service = config.tokenService ?? 'berth-registry';
  const basicRealm = config.basicRealm ?? 'Berth Registry';
  // What only some registries need is loaded only by them (a platform registry has neither a token
  // server nor an upstream): jose, @berth/registry-client and their code stay out of memory.
  const token = mode === 'token' ? await import('./auth/token-issuer.js') : undefined;
  const issuer = await token?.TokenIssuer.load(config.tokenKeyFile ?? join(config.root, 'auth', 'token.key'), {
    issuer: config.tokenIssuer ?? 'berth-registry-token-issuer',
    service,
  });
  const authorizer = new Authorizer({ mode, policy, htpasswd, issuer, service, basicRealm });
  const storage = new FilesystemStorage(config.root);
  const proxy = config.proxy !== undefined ? new (await import('./proxy/pull-through-cache.js')).PullThroughCache(storage, config.proxy) : undefined;

  const app = Fastify({
    ...(config.loggerInstance
      ? { loggerInstance: config.loggerInstance, disableRequestLogging: config.loggerInstance.level !== 'debug' }
      : { logger: config.logger ?? false }),
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 1024 },
    ...(config.tls ? { https: { cert: config.tls.cert, key: config.tls.key } } : {}),
  } as FastifyServerOptions);

  // Bodies are streamed by the handlers themselves (blobs are never buffered; manifests must be
  // stored byte for byte), so no parser consumes them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('docker-distribution-api-version', 'registry/2.0');
  });
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  if (proxy !== undefined) app.addHook('onClose', async () => proxy.close());
  app.setNotFoundHandler((request, reply) =>
    sendError(new RegistryError('UNSUPPORTED', `Unknown endpoint "${request.method} ${request.url.split('?')[0]}"`, { status: 404 }), request, reply),
  );

  if (mode === 'token') {
    const { tokenHandler } = await import('./http/token-endpoint.js');
    app.route({ method: ['GET', 'POST'], url: '/auth/token', handler: tokenHandler({ issuer: issuer!, policy, htpasswd: htpasswd!, basicRealm }) });
  }

  const dispatch = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const endpoint = matchEndpoint(request.url.split('?')[0]);
    if (endpoint === undefined) {
      throw new RegistryError('UNSUPPORTED', `Unknown endpoint "${request.method} ${request.url.split('?')[0]}"`, { status: 404 });
    }
    if ('name' in endpoint) checkRepositoryName(endpoint.name);
    const requirement = requirementOf(endpoint, request.method);
    const realm = config.tokenRealm ?? `${config.tls ? 'https' : 'http'}://${request.headers.host ?? 'localhost'}/auth/token`;
    const identity = await authorizer.authorize(request.headers.authorization, requirement, realm);
    if (proxy !== undefined && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new RegistryError(
        'UNSUPPORTED',
        `This registry is a pull-through cache of ${proxy.remote.origin}: ${request.method} is not supported, push to the upstream registry instead`,
        { status: 405 },
      );
    }
    const ctx: HandlerContext = {
      request,
      reply,
      storage,
      identity,
      query: request.query as HandlerContext['query'],
      deleteEnabled: config.deleteEnabled ?? false,
      events: config.events,
      proxy,
    };
    return handle(ctx, endpoint);
  };
  app.route({ method: [...METHODS], url: '/v2', handler: dispatch });
  app.route({ method: [...METHODS], url: '/v2/*', handler: dispatch });
  return app;
}

/** Thrown for a configuration the registry cannot start with. */
export class RegistryConfigError extends Error {}

function handle(ctx: HandlerContext, e: Endpoint): Promise<void> | void {
  const method = ctx.request.method;
  const get = method === 'GET' || method === 'HEAD';
  switch (e.kind) {
    case 'base':
      if (get) return void ctx.reply.code(200).type('application/json').send('{}');
      break;
    case 'catalog':
      if (method === 'GET') return listCatalog(ctx);
      break;
    case 'tags':
      if (method === 'GET') return listTags(ctx, e.name);
      break;
    case 'referrers':
      if (method === 'GET') return listReferrers(ctx, e.name, e.digest);
      break;
    case 'blob':
      if (get) return getBlob(ctx, e.name, e.digest);
      if (method === 'DELETE') return deleteBlob(ctx, e.name, e.digest);
      break;
    case 'manifest':
      if (get) return getManifest(ctx, e.name, e.reference);
      if (method === 'PUT') return putManifest(ctx, e.name, e.reference);
      if (method === 'DELETE') return deleteManifest(ctx, e.name, e.reference);
      break;
    case 'uploads':
      if (method === 'POST') return postUpload(ctx, e.name);
      break;
    case 'upload':
      if (method === 'GET') return getUpload(ctx, e.name, e.uuid);
      if (method === 'PATCH') return patchUpload(ctx, e.name, e.uuid);
      if (method === 'PUT') return putUpload(ctx, e.name, e.uuid);
      if (method === 'DELETE') return deleteUpload(ctx, e.name, e.uuid);
      break;
  }
  throw new RegistryError('UNSUPPORTED', `Method ${method} is not supported on "${ctx.request.url.split('?')[0]}"`, { status: 405 });
}

/** The access a request needs (registry:2's choices: uploads need pull and push). */
function requirementOf(e: Endpoint, method: string): Requirement {
  switch (e.kind) {
    case 'base':
      return { type: 'base' };
    case 'catalog':
      return { type: 'registry', name: 'catalog', actions: ['*'] };
    case 'uploads':
    case 'upload':
      return { type: 'repository', name: e.name, actions: ['pull', 'push'] };
    case 'manifest':
    case 'blob':
      if (method === 'DELETE') return { type: 'repository', name: e.name, actions: ['delete'] };
      if (method === 'PUT') return { type: 'repository', name: e.name, actions: ['pull', 'push'] };
      return { type: 'repository', name: e.name, actions: ['pull'] };
    default:
      return { type: 'repository', name: e.name, actions: ['pull'] };
  }
}

/** Maps any error to the spec's JSON error body; 5xx are logged and answered generically. */
function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  let error: RegistryError;
  if (err instanceof RegistryError) {
    error = err;
  } else if (isBerthError(err)) {
    // A library error that escaped the registry's own mapping: keep its message, map by kind.
    const status = { 'not-found': 404, 'invalid-argument': 400, 'permission-denied': 403 }[err.kind as string];
    error =
      status === undefined
        ? internal(err, request)
        : new RegistryError(status === 404 ? 'NAME_UNKNOWN' : status === 403 ? 'DENIED' : 'UNSUPPORTED', err.message, { status });
  } else {
    const statusCode = (err as { statusCode?: number }).statusCode;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      const code = statusCode === 413 ? 'SIZE_INVALID' : 'UNSUPPORTED';
      error = new RegistryError(code, (err as Error).message, { status: statusCode });
    } else {
      error = internal(err, request);
    }
  }
  if (reply.sent || reply.raw.headersSent) {
    // The response is already streaming (a blob read failed half-way): all we can do is cut it.
    reply.raw.destroy();
    return;
  }
  reply.code(error.status).headers(error.headers).type('application/json').send(JSON.stringify(error.toJSON()));
}

function internal(err: unknown, request: FastifyRequest): RegistryError {
  request.log.error({ err }, 'request failed');
  const cause = err as NodeJS.ErrnoException;
  if (cause?.code === 'ECONNRESET' || cause?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new RegistryError('BLOB_UPLOAD_INVALID', 'The request body ended before it was complete', { cause: err });
  }
  return new RegistryError('UNKNOWN', 'Internal server error', { cause: err });
}
