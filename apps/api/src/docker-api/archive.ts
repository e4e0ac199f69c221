import type { FastifyInstance } from 'fastify';
import { fromServiceError, serverStream, unary, type ContainerPathStat, type CopyFromOutput } from '@berth/proto';
import { pipeChunks } from './containers.js';
import { bool, str, type Query } from './query.js';
import { pumpBody } from './request-body.js';
import type { DockerApiContext } from './context.js';

/** docker's X-Docker-Container-Path-Stat header: base64 JSON of the path's stat. */
function statHeader(s: ContainerPathStat): string {
  return Buffer.from(JSON.stringify({ name: s.name, size: Number(s.size), mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget })).toString('base64');
}

/**
 * `docker cp`: HEAD (stat), GET (a tar of the path) and PUT (extract a tar) on
 * `/containers/{id}/archive`; the agent resolves every path within the container's root.
 */
export function registerArchiveRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const c = ctx.clients.containers;
  app.head<{ Params: { id: string } }>('/containers/:id/archive', async (request, reply) => {
    const stat = await unary(c, c.statPath, { id: request.params.id, path: str(request.query as Query, 'path'), followLink: false });
    return reply.header('X-Docker-Container-Path-Stat', statHeader(stat)).code(200).send();
  });
  app.get<{ Params: { id: string } }>('/containers/:id/archive', async (request, reply) => {
    const call = c.copyFrom({ id: request.params.id, path: str(request.query as Query, 'path'), followLink: false });
    const messages = serverStream<CopyFromOutput>(call);
    const first = await messages.next();
    const stat = !first.done && first.value.output?.$case === 'stat' ? first.value.output.value : undefined;
    const chunks = (async function* () {
      for await (const m of messages) if (m.output?.$case === 'data') yield { data: m.output.value };
    })();
    await pipeChunks(reply, 'application/x-tar', call, chunks, stat ? { 'X-Docker-Container-Path-Stat': statHeader(stat) } : {});
  });
  app.put<{ Params: { id: string } }>('/containers/:id/archive', async (request, reply) => {
    const q = request.query as Query;
    await new Promise<void>((resolve, reject) => {
      const call = c.copyTo((err) => (err ? reject(fromServiceError(err)) : resolve()));
      call.write({
        input: {
          $case: 'spec',
          value: { id: request.params.id, path: str(q, 'path'), noOverwriteDirNonDir: bool(q, 'noOverwriteDirNonDir'), copyUidGid: bool(q, 'copyUIDGID') },
        },
      });
      pumpBody(request.raw, call, (data) => ({ input: { $case: 'data' as const, value: data } })).catch(reject);
    });
    return reply.code(200).send();
  });
}
