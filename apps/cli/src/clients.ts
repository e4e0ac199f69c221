import * as grpc from '@grpc/grpc-js';
import { channelOptions } from '@berth/proto';
import { gatewayTarget } from './gateway-target.js';
import { placementMetadata } from './placement-metadata.js';
import type { CommandContext } from './context.js';

/** A generated client class of @berth/proto (ContainersClient, ImagesClient, …). */
export type ClientClass<C extends grpc.Client> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C;

const cache = new WeakMap<CommandContext, Map<ClientClass<grpc.Client>, grpc.Client>>();

/**
 * The grpc-js client of one gateway service for this command (one channel per service, shared
 * subchannels), created on first use and closed when the command ends: for the streaming calls
 * (logs, events, cp, load, pull, …; not build's, run's, attach's or exec's: unary-transport.ts's DuplexCall). One-request-one-answer calls go through
 * unary-clients.ts instead, which does not load grpc-js. The caller names the generated class
 * (`client(ctx, ContainersClient)`), so that a command's bundle chunk holds the generated code of
 * the services it calls and no other (bench/README.md, "inspect, ps, rm").
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
    found = new Class(gatewayTarget(ctx).address, channelCredentials(ctx), { ...channelOptions, interceptors: [placementInterceptor(ctx)] });
    clients.set(Class, found);
  }
  return found as C;
}

/** grpc-js credentials for the gateway (gateway-target.ts): insecure on a unix socket, TLS with a client certificate on TCP. */
export function channelCredentials(ctx: CommandContext): grpc.ChannelCredentials {
  const { tls } = gatewayTarget(ctx);
  if (!tls) return grpc.credentials.createInsecure();
  // Node warns (DEP0123) when a TLS server name is an IP address, which grpc-js passes for
  // `-H tcp://127.0.0.1:2376`; the certificate is still checked against that IP.
  process.noDeprecation = true;
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** The interceptor that adds ctx's placement metadata (placement-metadata.ts) to every call. */
function placementInterceptor(ctx: CommandContext): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        for (const [key, values] of Object.entries(placementMetadata(ctx, options.method_definition.path))) {
          metadata.remove(key);
          for (const value of values) metadata.add(key, value);
        }
        nextStart(metadata, listener);
      },
    });
}
