import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, messageOf } from '@berth/errors';

/**
 * Requests that cannot be decoded are the caller's fault: INVALID_ARGUMENT, not INTERNAL.
 *
 * grpc-js decodes a request before any handler runs and answers a decoding failure itself, always
 * with INTERNAL "Error deserializing request" (an int64 beyond 2^53, a truncated or garbage body).
 * `guardDecoding` wraps a service definition's request decoders so that such a request arrives as
 * an `UndecodableRequest`, which `handleUnary`, `handleServerStream` and `forwardService` answer
 * with INVALID_ARGUMENT `Cannot decode the request to /berth.v1.Containers/Create: …`. Methods with
 * streamed requests keep the default: their handlers read messages themselves.
 */
export class UndecodableRequest {
  constructor(
    readonly path: string,
    readonly cause: unknown,
  ) {}

  toError(): InvalidArgumentError {
    return new InvalidArgumentError(`Cannot decode the request to ${this.path}: ${messageOf(this.cause)}`, {
      code: 'UNDECODABLE_REQUEST',
      cause: this.cause,
    });
  }
}

export function guardDecoding<T extends grpc.ServiceDefinition>(definition: T): T {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    if (method.requestStream) {
      guarded[name] = method;
      continue;
    }
    const decode = method.requestDeserialize;
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new UndecodableRequest(method.path, err);
        }
      },
    };
  }
  return guarded as T;
}
