import { gatewayTarget } from './gateway-target.js';
import { placementMetadata } from './placement-metadata.js';
import { UnaryTransport, type UnaryCallOptions, type UnaryMethod } from './unary-transport.js';
import type { CommandContext } from './context.js';

/** A method definition of a generated service (`ContainersMethods.inspect`), of any kind. */
interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

type UnaryCall<M> = M extends UnaryMethod<infer Req, infer Res> ? (request: Req, options?: Pick<UnaryCallOptions, 'deadline'>) => Promise<Res> : never;

/** The unary methods of a service definition, each a function of its request: `c.inspect({ id })`. */
export type UnaryClient<S> = { [K in keyof S as S[K] extends { requestStream: false; responseStream: false } ? K : never]: UnaryCall<S[K]> };

const transports = new WeakMap<CommandContext, UnaryTransport>();

/**
 * The unary calls of one gateway service for this command, over unary-transport.ts (Node's http2,
 * not @grpc/grpc-js): `unaryClient(ctx, ContainersMethods).inspect({ id })` resolves with the
 * answer or rejects with the Berth error class, as libs/proto's `unary` over a grpc-js client does,
 * with the same placement metadata (placement-metadata.ts). Every service of a command shares one
 * connection, opened at the first call and closed when the command ends. Streaming methods are not
 * here: they keep grpc-js (clients.ts), but for Builder.Build (`unaryTransport(ctx).duplex`).
 */
export function unaryClient<S extends object>(ctx: CommandContext, service: S): UnaryClient<S> {
  const t = unaryTransport(ctx); // a gateway address the CLI cannot use fails here, as client() does
  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service) as Array<[string, MethodDefinition]>) {
    if (method.requestStream || method.responseStream) continue;
    methods[name] = (request: unknown, options: Pick<UnaryCallOptions, 'deadline'> = {}) =>
      t.call(method as UnaryMethod<unknown, unknown>, request, { ...options, metadata: placementMetadata(ctx, method.path) });
  }
  return methods as UnaryClient<S>;
}

/** The command's one connection to the gateway (unary calls and `duplex` streams share it). */
export function unaryTransport(ctx: CommandContext): UnaryTransport {
  let found = transports.get(ctx);
  if (!found) {
    const created = new UnaryTransport(gatewayTarget(ctx));
    found = created;
    transports.set(ctx, created);
    ctx.cleanup.push(() => created.close());
  }
  return found;
}
