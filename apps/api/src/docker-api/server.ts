import { chmodSync, chownSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { httpStatusOf, isBerthError, messageOf } from '@berth/errors';
import { splitVersion, versionHeaders } from './api-version.js';
import { registerBuildRoutes } from './build.js';
import { registerContainerRoutes } from './containers.js';
import { registerArchiveRoutes } from './archive.js';
import { registerExecRoutes } from './exec.js';
import { wantsUpgrade, writeHijackError } from './hijack.js';
import { registerImageRoutes } from './images.js';
import { registerNetworkRoutes } from './networks.js';
import { registerSystemRoutes } from './system.js';
import { registerVolumeRoutes } from './volumes.js';
import { registerAttachRoutes } from './attach.js';
import type { DockerApiContext } from './context.js';


/**
 * The Docker Engine API as a fastify app over the gateway's gRPC services (see gateway-clients.ts):
 * `/v1.NN/` prefixes stripped and checked, docker's headers on every answer, errors as
 * `{"message": …}` with docker's statuses, request bodies other than JSON left as streams (tars).
 */
export function dockerApiApp(ctx: DockerApiContext): FastifyInstance {
  const versions = new WeakMap<IncomingMessage, ReturnType<typeof splitVersion>>();
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    bodyLimit: 64 * 1024 * 1024,
    // dockerd answers after a long `wait` or `events`: no request timeout.
    requestTimeout: 0,
    rewriteUrl: (req) => {
      const v = splitVersion(req.url ?? '/');
      versions.set(req, v);
      return v.url;
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error(`invalid JSON in the request body: ${text.slice(0, 80)}`), { statusCode: 400 }), undefined);
    }
  });
  // Tars (build, load, archive; docker's client labels a raw body text/plain) and anything else:
  // the handler reads request.raw itself.
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(versionHeaders());
    const refusal = versions.get(request.raw)?.refusal;
    if (refusal) return reply.code(400).type('application/json').send(JSON.stringify({ message: refusal }));
  });
  // fastify adds `; charset=utf-8`; docker's client reads an error's message only when the type
  // is exactly application/json, as dockerd sends it.
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json;')) reply.header('content-type', 'application/json');
    return payload;
  });
  app.setErrorHandler((err, request, reply) => {
    const status = isBerthError(err) ? httpStatusOf(err) : ((err as { statusCode?: number }).statusCode ?? 500);
    if (status >= 500) ctx.log.error({ method: request.method, path: request.url.split('?')[0], err }, 'Docker API request failed');
    // docker's client reads the message only when the type is exactly application/json.
    const message = status >= 500 && !isBerthError(err) ? `Internal error: ${messageOf(err)}` : messageOf(err);
    void reply.code(status).type('application/json').send(JSON.stringify({ message }));
  });
  app.setNotFoundHandler((_request, reply) => void reply.code(404).type('application/json').send(JSON.stringify({ message: 'page not found' })));
  registerSystemRoutes(app, ctx);
  registerContainerRoutes(app, ctx);
  registerArchiveRoutes(app, ctx);
  registerAttachRoutes(app, ctx);
  registerExecRoutes(app, ctx);
  registerImageRoutes(app, ctx);
  registerBuildRoutes(app, ctx);
  registerNetworkRoutes(app, ctx);
  registerVolumeRoutes(app, ctx);
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void serveUpgrade(ctx, req, socket, head));
  return app;
}

async function serveUpgrade(ctx: DockerApiContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  const v = splitVersion(req.url ?? '/');
  if (v.refusal) return writeHijackError(socket, 400, v.refusal);
  const url = new URL(v.url, 'http://docker');
  for (const route of ctx.upgrades) {
    const m = route.pattern.exec(url.pathname);
    if (!m || route.method !== req.method) continue;
    try {
      await route.handle({ socket, head, upgraded: wantsUpgrade(req) }, req, m, url.searchParams);
    } catch (err) {
      const status = isBerthError(err) ? httpStatusOf(err) : 500;
      if (status >= 500) ctx.log.error({ method: req.method, path: url.pathname, err }, 'Docker API request failed');
      if (!socket.destroyed && !socket.writableEnded) writeHijackError(socket, status, messageOf(err));
    }
    return;
  }
  writeHijackError(socket, 404, 'page not found');
}

/**
 * Serves the app on a unix socket (replacing a stale one): 0660 root:`gid` with a group, else
 * 0600, like the gRPC socket (docs/security.md "API sockets").
 */
export async function listenDockerApi(app: FastifyInstance, path: string, options: { gid?: number } = {}): Promise<void> {
  rmSync(path, { force: true });
  await app.listen({ path });
  if (options.gid !== undefined) chownSync(path, process.getuid?.() ?? 0, options.gid);
  chmodSync(path, options.gid !== undefined ? 0o660 : 0o600);
}
