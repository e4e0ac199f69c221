import type { FastifyInstance } from 'fastify';
import { unary, type Volume } from '@berth/proto';
import { bool, filters, type Query } from './query.js';
import type { DockerApiContext } from './context.js';

/** Volumes: list, create, inspect, remove, prune. */
export function registerVolumeRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const v = ctx.clients.volumes;
  app.get('/volumes', async (request) => {
    const res = await unary(v, v.list, { filters: filters(request.query as Query) });
    return { Volumes: res.volumes.map(dockerVolume), Warnings: res.warnings };
  });
  app.post('/volumes/create', async (request, reply) => {
    const b = (request.body ?? {}) as { Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null };
    const res = await unary(v, v.create, { name: b.Name ?? '', driver: b.Driver ?? '', labels: b.Labels ?? {}, driverOpts: b.DriverOpts ?? {} });
    return reply.code(201).send(dockerVolume(res));
  });
  app.get<{ Params: { name: string } }>('/volumes/:name', async (request, reply) =>
    reply.type('application/json').send((await unary(v, v.inspect, { name: request.params.name })).json),
  );
  app.delete<{ Params: { name: string } }>('/volumes/:name', async (request, reply) => {
    await unary(v, v.remove, { name: request.params.name, force: bool(request.query as Query, 'force') });
    return reply.code(204).send();
  });
  app.post('/volumes/prune', async (request) => {
    const f = filters(request.query as Query);
    const all = f.some((x) => x.key === 'all' && /^(true|1)$/i.test(x.value));
    const res = await unary(v, v.prune, { all, filters: f.filter((x) => x.key !== 'all') });
    return { VolumesDeleted: res.deleted, SpaceReclaimed: Number(res.spaceReclaimed) };
  });
}

function dockerVolume(v: Volume): Record<string, unknown> {
  return { Name: v.name, Driver: v.driver, Mountpoint: v.mountpoint, CreatedAt: v.createdAt, Labels: v.labels, Options: v.options, Scope: v.scope || 'local' };
}
