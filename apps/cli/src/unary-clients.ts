import { gatewayTarget } from './gateway-target.js';
import { placementMetadata } from './placement-metadata.js';
import { UnaryTransport, type DuplexMethod, type UnaryCallOptions, type UnaryMethod } from './unary-transport.js';
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

/** What a method needs of a generated message: ts-proto's `encode` and `decode`. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/**
 * One unary method of a gateway service, by its path and its two generated messages:
 * `unaryMethod('/berth.v1.Containers/Inspect', ContainerRef, JsonDocument)`. A command that names
 * its methods so bundles the code of those messages only, where a generated service definition
 * (`ContainersMethods`) brings every message of the service: `ps`, `inspect` and `rm` load ~200 KB
 * less (bench/README.md, "ps, inspect, rm: only the messages they use"). A table of them is checked
 * against the generated definition by tsc (`satisfies MethodsOf<ContainersMethods>`, a type-only
 * import): a wrong path, kind or message shape does not compile; method-tables.test.ts checks the
 * messages themselves.
 */
export function unaryMethod<P extends string, Req, Res>(path: P, request: MessageCodec<Req>, response: MessageCodec<Res>): UnaryMethod<Req, Res> & Named<P, Req, Res> {
  return { path, requestStream: false, responseStream: false, request, response, ...codecs(request, response) };
}

/** One bidirectional streaming method, as `unaryMethod` (for `unaryTransport(ctx).duplex`). */
export function duplexMethod<P extends string, Req, Res>(path: P, request: MessageCodec<Req>, response: MessageCodec<Res>): DuplexMethod<Req, Res> & Named<P, Req, Res> {
  return { path, requestStream: true, responseStream: true, request, response, ...codecs(request, response) };
}

/**
 * What a named method keeps of its making: its path, and its two messages' codecs. tsc cannot tell two
 * messages of the same shape apart (KillContainerRequest fits where StopContainerRequest is asked for),
 * so method-tables.test.ts checks each table's messages against the generated service's.
 */
export interface Named<P extends string, Req, Res> {
  path: P;
  request: MessageCodec<Req>;
  response: MessageCodec<Res>;
}

function codecs<Req, Res>(request: MessageCodec<Req>, response: MessageCodec<Res>) {
  return {
    requestSerialize: (value: Req) => Buffer.from(request.encode(value).finish()),
    responseDeserialize: (bytes: Buffer) => response.decode(bytes),
  };
}

/** Some methods of generated service definition S, each as `unaryMethod` or `duplexMethod` makes it, with S's path, kind and messages. */
export type MethodsOf<S> = {
  [K in keyof S]?: S[K] extends { path: infer P; requestStream: infer A; responseStream: infer B; requestSerialize: (value: infer Req) => Buffer; responseDeserialize: (bytes: Buffer) => infer Res }
    ? { path: P; requestStream: A; responseStream: B; requestSerialize: (value: Req) => Buffer; responseDeserialize: (bytes: Buffer) => Res }
    : never;
};

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
