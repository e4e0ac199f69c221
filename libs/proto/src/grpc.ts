import * as grpc from '@grpc/grpc-js';
import { BerthError, errorFromGrpc, grpcCodeOf, isBerthError, messageOf } from '@berth/errors';
import { UndecodableRequest } from './decode-guard.js';
import type { CallFailure } from './generated/berth/v1/containers.js';

/**
 * The edges between Berth's error classes and gRPC statuses. Handlers throw (or reject with) the
 * classes of @berth/errors; `toServiceError` turns them into a status whose code follows
 * libs/errors and whose details are the message as the user should read it. Clients turn the
 * status back into the same class with `fromServiceError`, so `No such container: web` arrives
 * as a NotFoundError on the other side of any number of hops.
 */
export function toServiceError(err: unknown): grpc.ServiceError {
  if (isServiceError(err)) return err; // already a status (e.g. forwarded from an agent)
  const code = grpcCodeOf(err) as grpc.status;
  const internal = !isBerthError(err);
  // A 5xx-like failure is logged with its context by the caller; the client gets the message
  // only when it is one of ours (written for users), a generic one otherwise.
  const details = internal ? `Internal error: ${messageOf(err)}` : messageOf(err);
  const metadata = new grpc.Metadata();
  if (isBerthError(err) && err.code) metadata.set('berth-error-code', err.code);
  return Object.assign(new Error(details), { code, details, metadata }) as grpc.ServiceError;
}

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<grpc.ServiceError>).code === 'number' &&
    typeof (err as Partial<grpc.ServiceError>).details === 'string' &&
    (err as Partial<grpc.ServiceError>).metadata instanceof grpc.Metadata
  );
}

export function fromServiceError(err: unknown): BerthError | unknown {
  if (!isServiceError(err)) return err;
  if (err.code === grpc.status.UNAVAILABLE && /No connection established|connect ECONNREFUSED|ENOENT/.test(err.details)) {
    return errorFromGrpc(err.code, `Cannot connect to the Berth platform: ${err.details}`, { cause: err });
  }
  const code = err.metadata?.get('berth-error-code')[0];
  return errorFromGrpc(err.code, err.details, { cause: err, code: typeof code === 'string' ? code : undefined });
}

/**
 * A failure carried inside an answer rather than as the call's status (a `Create` with `start`
 * whose start failed: the container exists, the create succeeded): the status toServiceError makes.
 */
export function callFailureOf(err: unknown): CallFailure {
  const status = toServiceError(err);
  const code = status.metadata.get('berth-error-code')[0];
  return { status: status.code, message: status.details, code: typeof code === 'string' ? code : '' };
}

/** The error a CallFailure stands for, as fromServiceError makes it of the same status. */
export function errorOfCallFailure(failure: CallFailure): BerthError {
  return errorFromGrpc(failure.status, failure.message, { code: failure.code || undefined });
}

export const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** Calls a unary method and resolves with its answer, or rejects with the Berth error class. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: Partial<grpc.CallOptions> & { metadata?: grpc.Metadata } = {},
): Promise<Res> {
  const { metadata = new grpc.Metadata(), ...callOptions } = options;
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, callOptions, (err, response) =>
      err ? reject(fromServiceError(err)) : resolve(response),
    );
  });
}

/** Iterates a server stream, turning a failed status into the Berth error class. */
export async function* serverStream<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): AsyncGenerator<T> {
  try {
    for await (const message of call as AsyncIterable<T>) yield message;
  } catch (err) {
    throw fromServiceError(err);
  }
}

/**
 * Ends a server stream with an error status. grpc-js sends the status of a streaming call when
 * the call emits 'error'; `destroy(err)` would tear the stream down without a status, and the
 * client would wait forever.
 */
/** Writes `message` to a client's request stream; resolves at once, or after 'drain' when its buffer is full. */
export function writeMessage<T>(call: grpc.ClientWritableStream<T> | grpc.ClientDuplexStream<T, unknown>, message: T): Promise<void> {
  return new Promise<void>((resolve) => {
    if (call.write(message)) resolve();
    else call.once('drain', () => resolve());
  });
}

export function failStream(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, err: unknown): void {
  if (call.cancelled || call.destroyed || call.writableEnded) return;
  call.emit('error', toServiceError(err));
}

/**
 * Wraps a handler so that whatever it throws reaches the client as a proper status. A request that
 * could not be decoded (see decode-guard.ts) is answered INVALID_ARGUMENT without calling `fn`.
 */
export function handleUnary<Req, Res>(fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const request: unknown = call.request;
    if (request instanceof UndecodableRequest) return callback(toServiceError(request.toError()));
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err)),
    );
  };
}

export function handleServerStream<Req, Res>(
  fn: (request: Req, call: grpc.ServerWritableStream<Req, Res>) => AsyncIterable<Res> | Promise<AsyncIterable<Res>>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const request: unknown = call.request;
    if (request instanceof UndecodableRequest) return failStream(call as grpc.ServerWritableStream<unknown, unknown>, request.toError());
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    call.on('close', () => controller.abort());
    (async () => {
      for await (const message of await fn(call.request, call)) {
        if (call.cancelled || call.destroyed) break;
        if (!call.write(message)) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    })().catch((err) => failStream(call as grpc.ServerWritableStream<unknown, unknown>, err));
  };
}

export function handleClientStream<Req, Res>(
  fn: (messages: AsyncIterable<Req>, call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>,
): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    fn(call as AsyncIterable<Req>, call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err)),
    );
  };
}
