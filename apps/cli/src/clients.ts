import * as grpc from '@grpc/grpc-js';
import { channelOptions, ContainersClient, EventsClient, grpcTarget, ImagesClient, RegistryClient, SystemClient } from '@berth/proto';
import { VolumesClient } from '@berth/proto';
import { NetworksClient } from '@berth/proto';
import type { CommandContext } from './context.js';

/** The gateway's gRPC services, created on first use and closed when the command ends. */
export interface Clients {
  containers: ContainersClient;
  images: ImagesClient;
  events: EventsClient;
  system: SystemClient;
  volumes: VolumesClient;
  networks: NetworksClient;
  registry: RegistryClient;
}

const cache = new WeakMap<CommandContext, Partial<Clients>>();

const constructors = {
  containers: ContainersClient,
  images: ImagesClient,
  events: EventsClient,
  system: SystemClient,
  volumes: VolumesClient,
  networks: NetworksClient,
  registry: RegistryClient,
} as const;

/** The client of one service for this command (one channel per service, shared subchannels). */
export function client<K extends keyof Clients>(ctx: CommandContext, service: K): Clients[K] {
  let clients = cache.get(ctx);
  if (!clients) {
    clients = {};
    cache.set(ctx, clients);
    ctx.cleanup.push(() => {
      for (const c of Object.values(clients!)) c.close();
    });
  }
  if (!clients[service]) {
    const Ctor = constructors[service] as unknown as new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => Clients[K];
    clients[service] = new Ctor(grpcTarget(ctx.host), grpc.credentials.createInsecure(), channelOptions);
  }
  return clients[service]!;
}
