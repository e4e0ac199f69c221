import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { channelOptions, grpcTarget } from '@berth/proto';
import { StatusError } from './cli-errors.js';
import { placementInterceptor } from './placement-metadata.js';
import type { CommandContext } from './context.js';

/** A generated client class of @berth/proto (ContainersClient, ImagesClient, …). */
export type ClientClass<C extends grpc.Client> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C;

const cache = new WeakMap<CommandContext, Map<ClientClass<grpc.Client>, grpc.Client>>();

/**
 * The client of one gateway service for this command (one channel per service, shared
 * subchannels), created on first use and closed when the command ends. The caller names the
 * generated class (`client(ctx, ContainersClient)`), so that a command's bundle chunk holds the
 * generated code of the services it calls and no other: `ps` loads only Containers'
 * (bench/README.md, "inspect, ps, rm").
 */
export function client<C extends grpc.Client>(ctx: CommandContext, Class: ClientClass<C>): C {
  let clients = cache.get(ctx);
  if (!clients) {
    const created = new Map<ClientClass<grpc.Client>, grpc.Client>();
    clients = created;
    cache.set(ctx, created);
    ctx.cleanup.push(() => {
      for (const c of created.values()) c.close();
    });
  }
  let found = clients.get(Class);
  if (!found) {
    found = new Class(grpcTarget(ctx.host), channelCredentials(ctx), { ...channelOptions, interceptors: [placementInterceptor(ctx)] });
    clients.set(Class, found);
  }
  return found as C;
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
