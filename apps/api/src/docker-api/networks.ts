import type { FastifyInstance } from 'fastify';
import { unary } from '@berth/proto';
import { filters, type Query } from './query.js';
import type { DockerApiContext } from './context.js';

interface CreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> | null } | null;
}

/**
 * Networks: list, inspect, create, connect, disconnect, remove, prune. `list` answers the full
 * inspect document of each network, as dockerd does.
 */
export function registerNetworkRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const n = ctx.clients.networks;
  const inspect = async (id: string) => JSON.parse((await unary(n, n.inspect, { id })).json) as Record<string, unknown>;
  app.get('/networks', async (request) => {
    const res = await unary(n, n.list, { filters: filters(request.query as Query) });
    return Promise.all(res.networks.map((s) => inspect(s.id)));
  });
  app.get<{ Params: { id: string } }>('/networks/:id', async (request) => inspect(request.params.id));
  app.post('/networks/create', async (request, reply) => {
    const b = (request.body ?? {}) as CreateBody;
    const ipam = b.IPAM?.Config?.[0] ?? {};
    const res = await unary(n, n.create, {
      name: b.Name ?? '',
      id: '',
      driver: b.Driver ?? '',
      subnet: ipam.Subnet ?? '',
      gateway: ipam.Gateway ?? '',
      ipRange: ipam.IPRange ?? '',
      internal: b.Internal ?? false,
      attachable: b.Attachable ?? false,
      labels: b.Labels ?? {},
      options: b.Options ?? {},
    });
    return reply.code(201).send({ Id: res.id, Warning: res.warning });
  });
  app.post<{ Params: { id: string } }>('/networks/:id/connect', async (request, reply) => {
    const b = (request.body ?? {}) as { Container?: string; EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null };
    await unary(n, n.connect, {
      network: request.params.id,
      container: b.Container ?? '',
      aliases: b.EndpointConfig?.Aliases ?? [],
      ipv4Address: b.EndpointConfig?.IPAMConfig?.IPv4Address ?? '',
    });
    return reply.code(200).send();
  });
  app.post<{ Params: { id: string } }>('/networks/:id/disconnect', async (request, reply) => {
    const b = (request.body ?? {}) as { Container?: string; Force?: boolean };
    await unary(n, n.disconnect, { network: request.params.id, container: b.Container ?? '', force: b.Force ?? false });
    return reply.code(200).send();
  });
  app.delete<{ Params: { id: string } }>('/networks/:id', async (request, reply) => {
    await unary(n, n.remove, { id: request.params.id });
    return reply.code(204).send();
  });
  app.post('/networks/prune', async (request) => {
    const res = await unary(n, n.prune, { filters: filters(request.query as Query) });
    return { NetworksDeleted: res.deleted };
  });
}
