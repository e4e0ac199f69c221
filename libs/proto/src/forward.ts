import * as grpc from '@grpc/grpc-js';
import { UndecodableRequest } from './decode-guard.js';
import { failStream, toServiceError } from './grpc.js';

/**
 * Builds handlers for every method of a service that forward the call, unchanged, to another
 * server of the same service (the gateway → the agent of the chosen host). Statuses, metadata,
 * streams in both directions and cancellation pass through; `pick` chooses the upstream client
 * per call, so placement stays outside this plumbing.
 */
export function forwardService(
  definition: grpc.ServiceDefinition,
  pick: (
    method: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
    first?: unknown,
  ) => Promise<grpc.Client>,
  options: {
    routeByFirstMessage?: boolean;
    /** What an upstream's failed status becomes (the gateway names the host that did not answer); unchanged by default. */
    upstreamError?: (err: grpc.ServiceError, client: grpc.Client) => unknown;
  } = {},
): grpc.UntypedServiceImplementation {
  const upstreamError = (err: grpc.ServiceError, client: grpc.Client) => (options.upstreamError ? options.upstreamError(err, client) : err);
  // With routeByFirstMessage, a client-streaming call is picked for once its first message is in
  // (an exec's container, a copy's target): that message is handed to `pick`, then sent upstream first.
  const withFirst = (call: grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, name: string, onError: (err: unknown) => void, go: (client: grpc.Client, first: unknown[]) => void) => {
    if (!options.routeByFirstMessage) {
      call.pause();
      pick(name, call).then((client) => go(client, []), onError);
      return;
    }
    const ended = () => onError(new Error('the request stream ended before its first message'));
    call.once('end', ended);
    call.once('data', (first: unknown) => {
      call.pause();
      call.off('end', ended);
      pick(name, call, first).then((client) => go(client, [first]), onError);
    });
  };
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const path = method.path;
    const ser = method.requestSerialize;
    const deser = method.responseDeserialize;
    if (!method.requestStream && !method.responseStream) {
      handlers[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (call.request instanceof UndecodableRequest) return callback(toServiceError(call.request.toError()));
        pick(name, call).then(
          (client) => {
            const upstream = client.makeUnaryRequest(path, ser, deser, call.request, call.metadata, (err, res) =>
              err ? callback(toServiceError(upstreamError(err, client))) : callback(null, res),
            );
            call.on('cancelled', () => upstream.cancel());
          },
          (err) => callback(toServiceError(err)),
        );
      }) as grpc.UntypedHandleCall;
    } else if (!method.requestStream && method.responseStream) {
      handlers[name] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        if (call.request instanceof UndecodableRequest) return failStream(call, call.request.toError());
        pick(name, call).then(
          (client) => {
            const upstream = client.makeServerStreamRequest(path, ser, deser, call.request, call.metadata);
            pipeResponses(upstream, call, (err) => upstreamError(err, client));
            call.on('cancelled', () => upstream.cancel());
          },
          (err) => failStream(call, err),
        );
      }) as grpc.UntypedHandleCall;
    } else if (method.requestStream && !method.responseStream) {
      handlers[name] = ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        withFirst(
          call,
          name,
          (err) => callback(toServiceError(err)),
          (client, first) => {
            const upstream = client.makeClientStreamRequest(path, ser, deser, call.metadata, (err, res) =>
              err ? callback(toServiceError(upstreamError(err, client))) : callback(null, res),
            );
            for (const m of first) upstream.write(m);
            call.pipe(upstream);
            call.on('cancelled', () => upstream.cancel());
          },
        );
      }) as grpc.UntypedHandleCall;
    } else {
      handlers[name] = ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
        withFirst(
          call,
          name,
          (err) => failStream(call, err),
          (client, first) => {
            const upstream = client.makeBidiStreamRequest(path, ser, deser, call.metadata);
            for (const m of first) upstream.write(m);
            call.pipe(upstream);
            pipeResponses(upstream, call, (err) => upstreamError(err, client));
            call.on('cancelled', () => upstream.cancel());
          },
        );
      }) as grpc.UntypedHandleCall;
    }
  }
  return handlers;
}

/**
 * `definition` with every message kept as its bytes: served and forwarded with `forwardService`,
 * a call crosses the gateway without being decoded and encoded again (a build's listing and
 * progress lines). Only for services whose calls the gateway routes without reading them: `pick`
 * then gets the request as a Buffer (and so would a first message with `routeByFirstMessage`).
 */
export function rawDefinition(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const bytes = (message: unknown) => message as Buffer;
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      { ...method, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
    ]),
  );
}

/** Passes a forwarded call's answers to the caller (with backpressure), then its end or its error. */
export function pipeResponses(
  upstream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  upstreamError: (err: grpc.ServiceError) => unknown,
): void {
  upstream.on('data', (message) => {
    if (!call.write(message)) upstream.pause();
  });
  call.on('drain', () => upstream.resume());
  upstream.on('error', (err: grpc.ServiceError) => failStream(call, upstreamError(err)));
  upstream.on('end', () => call.end());
}
