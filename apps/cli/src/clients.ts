import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { channelOptions, ContainersClient, EventsClient, grpcTarget, ImagesClient, NodesClient, RegistryClient, SystemClient } from '@berth/proto';
import { VolumesClient } from '@berth/proto';
import { NetworksClient } from '@berth/proto';
import { StatusError } from './cli-errors.js';
import { placementInterceptor } from './placement-metadata.js';
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
  nodes: NodesClient;
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
  nodes: NodesClient,
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
    clients[service] = new Ctor(grpcTarget(ctx.host), channelCredentials(ctx), { ...channelOptions, interceptors: [placementInterceptor(ctx)] });
  }
  return clients[service]!;
}

/**
 * How to reach the gateway: a unix socket as is; TCP only with TLS and a client certificate
 * (`--tlsverify --tlscacert --tlscert --tlskey`, or BERTH_TLS_VERIFY + BERTH_CERT_PATH), which the
 * gateway demands.
 */
export function channelCredentials(ctx: CommandContext): grpc.ChannelCredentials {
  if (ctx.tls) {
    const read = (flag: string, file: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new StatusError(`Cannot read ${flag} "${file}": ${(err as Error).message}`, 1);
      }
    };
    // Node warns (DEP0123) when a TLS server name is an IP address, which grpc-js passes for
    // `-H tcp://127.0.0.1:2376`; the certificate is still checked against that IP.
    process.noDeprecation = true;
    return grpc.credentials.createSsl(read('--tlscacert', ctx.tls.ca), read('--tlskey', ctx.tls.key), read('--tlscert', ctx.tls.cert));
  }
  if (!grpcTarget(ctx.host).startsWith('unix:')) {
    throw new StatusError(
      `Cannot connect to the Berth platform at ${ctx.host} without TLS: the gateway serves TCP only with client certificates; add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY`,
      1,
    );
  }
  return grpc.credentials.createInsecure();
}
