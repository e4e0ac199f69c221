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
  pick: (method: string, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => Promise<grpc.Client>,
): grpc.UntypedServiceImplementation {
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
              err ? callback(toServiceError(err)) : callback(null, res),
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
            pipeResponses(upstream, call);
            call.on('cancelled', () => upstream.cancel());
          },
          (err) => failStream(call, err),
        );
      }) as grpc.UntypedHandleCall;
    } else if (method.requestStream && !method.responseStream) {
      handlers[name] = ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        call.pause();
        pick(name, call).then(
          (client) => {
            const upstream = client.makeClientStreamRequest(path, ser, deser, call.metadata, (err, res) =>
              err ? callback(toServiceError(err)) : callback(null, res),
            );
            call.pipe(upstream);
            call.on('cancelled', () => upstream.cancel());
          },
          (err) => callback(toServiceError(err)),
        );
      }) as grpc.UntypedHandleCall;
    } else {
      handlers[name] = ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
        call.pause();
        pick(name, call).then(
          (client) => {
            const upstream = client.makeBidiStreamRequest(path, ser, deser, call.metadata);
            call.pipe(upstream);
            pipeResponses(upstream, call);
            call.on('cancelled', () => upstream.cancel());
          },
          (err) => failStream(call, err),
        );
      }) as grpc.UntypedHandleCall;
    }
  }
  return handlers;
}

function pipeResponses(
  upstream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
): void {
  upstream.on('data', (message) => {
    if (!call.write(message)) upstream.pause();
  });
  call.on('drain', () => upstream.resume());
  upstream.on('error', (err) => failStream(call, err));
  upstream.on('end', () => call.end());
}
