import { EventEmitter, once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '@berth/errors';
import { forwardService, rawDefinition } from './forward.js';

/**
 * The gateway's forwarding (forward.ts) between two real grpc-js servers on loopback: the client
 * talks to the gateway, which forwards every call to the upstream server (an agent, in Berth).
 * Requests, responses, metadata, statuses, streams both ways and cancellation must cross unchanged.
 * The service is a test one with one method of each kind, its messages JSON.
 */

/** Messages decoded anywhere in this file (client, gateway, upstream). */
let decoded = 0;
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => {
    decoded++;
    return JSON.parse(bytes.toString()) as unknown;
  },
};
function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/berth.test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
    originalName: name,
  };
}
const EchoService: grpc.ServiceDefinition = {
  unary: method('Unary', false, false),
  count: method('Count', false, true),
  sum: method('Sum', true, false),
  chat: method('Chat', true, true),
};
const EchoClient = grpc.makeGenericClientConstructor(EchoService, 'Echo');

interface Echo extends grpc.Client {
  unary(request: object, metadata: grpc.Metadata, callback: grpc.requestCallback<Record<string, unknown>>): grpc.ClientUnaryCall;
  count(request: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<{ i: number }>;
  sum(callback: grpc.requestCallback<{ total: number }>): grpc.ClientWritableStream<{ value: number }>;
  chat(): grpc.ClientDuplexStream<{ text: string }, { text: string }>;
}

/** What the upstream server saw: `started:<method>` when a call reached it, `cancelled:<method>`. */
const upstreamSaw = new EventEmitter();
let pickFails: Error | undefined;
const picked: string[] = [];

function status(code: grpc.status, details: string, berthCode?: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (berthCode) metadata.set('berth-error-code', berthCode);
  return Object.assign(new Error(details), { code, details, metadata });
}

function watch(name: string, call: NodeJS.EventEmitter): void {
  call.on('cancelled', () => upstreamSaw.emit(`cancelled:${name}`));
  upstreamSaw.emit(`started:${name}`);
}

/** The upstream service. Requests choose what happens: `fail`, `hang` (answer nothing until cancelled). */
const upstream: grpc.UntypedServiceImplementation = {
  unary: ((call: grpc.ServerUnaryCall<{ text: string; fail?: boolean; hang?: boolean }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    watch('unary', call);
    if (call.request.hang) return;
    if (call.request.fail) return callback(status(grpc.status.NOT_FOUND, `No such container: "${call.request.text}"`, 'NO_SUCH_CONTAINER'));
    callback(null, { echo: call.request.text, header: call.metadata.get('x-request')[0] ?? null });
  }) as grpc.UntypedHandleCall,
  count: ((call: grpc.ServerWritableStream<{ n: number; failAfter?: number; hang?: boolean }, unknown>) => {
    watch('count', call);
    const { n, failAfter, hang } = call.request;
    let i = 0;
    const more = () => {
      while (i < n) {
        if (i === failAfter) return call.emit('error', status(grpc.status.FAILED_PRECONDITION, `Container "web" is not running (after ${i})`));
        if (!call.write({ i: i++ })) return void call.once('drain', more);
      }
      if (!hang) call.end();
    };
    more();
  }) as grpc.UntypedHandleCall,
  sum: ((call: grpc.ServerReadableStream<{ value: number; hang?: boolean }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    watch('sum', call);
    let total = 0;
    let hang = false;
    call.on('data', (m: { value: number; hang?: boolean }) => {
      hang ||= m.hang === true;
      total += m.value;
    });
    call.on('end', () => {
      if (hang) return;
      if (total < 0) return callback(status(grpc.status.INVALID_ARGUMENT, `Invalid total: "${total}" is below zero`));
      callback(null, { total });
    });
  }) as grpc.UntypedHandleCall,
  chat: ((call: grpc.ServerDuplexStream<{ text: string }, unknown>) => {
    watch('chat', call);
    call.on('data', (m: { text: string }) => call.write({ text: m.text.toUpperCase() }));
    call.on('end', () => call.end());
  }) as grpc.UntypedHandleCall,
};

const servers: grpc.Server[] = [];
let upstreamClient: Echo;
let client: Echo;

async function listen(service: grpc.UntypedServiceImplementation, definition = EchoService): Promise<string> {
  const server = new grpc.Server();
  servers.push(server);
  server.addService(definition, service);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

beforeAll(async () => {
  upstreamClient = new EchoClient(await listen(upstream), grpc.credentials.createInsecure()) as unknown as Echo;
  const gateway = await listen(
    forwardService(EchoService, async (name) => {
      picked.push(name);
      if (pickFails) throw pickFails;
      return upstreamClient;
    }),
  );
  client = new EchoClient(gateway, grpc.credentials.createInsecure()) as unknown as Echo;
});
afterAll(() => {
  client?.close();
  upstreamClient?.close();
  for (const server of servers) server.forceShutdown();
});
beforeEach(() => {
  pickFails = undefined;
  picked.length = 0;
  upstreamSaw.removeAllListeners();
});

/** Rejects with `what` unless `promise` settles within 5 s (a lost cancellation would hang). */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within 5 s`)), 5_000)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function callUnary(request: object, metadata = new grpc.Metadata()): { call: grpc.ClientUnaryCall; result: Promise<Record<string, unknown>> } {
  let call!: grpc.ClientUnaryCall;
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    call = client.unary(request, metadata, (err, res) => (err ? reject(err) : resolve(res!)));
  });
  return { call, result };
}

/**
 * Starts a call of `method` that hangs upstream and cancels it once it reached upstream: the
 * upstream call sees the cancellation, and the client's result fails with CANCELLED.
 */
async function expectCancelReachesUpstream(method: string, start: () => { call: grpc.Call; result: Promise<unknown> }): Promise<void> {
  const started = once(upstreamSaw, `started:${method}`);
  const cancelled = once(upstreamSaw, `cancelled:${method}`);
  const { call, result } = start();
  const outcome = result.catch((err: unknown) => err);
  await within(started, 'the call reaching upstream');
  call.cancel();
  await within(cancelled, 'the upstream cancellation');
  expect(await outcome).toMatchObject({ code: grpc.status.CANCELLED });
}

async function collect<T>(stream: AsyncIterable<T>): Promise<{ messages: T[]; error?: grpc.ServiceError }> {
  const messages: T[] = [];
  try {
    for await (const m of stream) messages.push(m);
    return { messages };
  } catch (err) {
    return { messages, error: err as grpc.ServiceError };
  }
}

describe('forwardService: unary', () => {
  it('forwards the request with its metadata and returns the answer', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request', 'from the client');
    expect(await callUnary({ text: 'hello' }, metadata).result).toEqual({ echo: 'hello', header: 'from the client' });
    expect(picked).toEqual(['unary']);
  });

  it('passes the upstream status through: code, details and the Berth error code', async () => {
    const err = (await callUnary({ text: 'web', fail: true }).result.catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'No such container: "web"' });
    expect(err.metadata.get('berth-error-code')).toEqual(['NO_SUCH_CONTAINER']);
  });

  it('answers with the error class of a failed pick, and calls nothing upstream', async () => {
    pickFails = new UnavailableError('No host is available: "h1" does not answer');
    let reached = false;
    upstreamSaw.on('started:unary', () => (reached = true));
    const err = (await callUnary({ text: 'x' }).result.catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'No host is available: "h1" does not answer' });
    expect(reached).toBe(false);
  });

  it('cancels the upstream call when the client cancels', () => expectCancelReachesUpstream('unary', () => callUnary({ text: 'x', hang: true })));
});

describe('forwardService: server streams', () => {
  it('forwards every message in order (3,000 of them)', async () => {
    const { messages, error } = await collect(client.count({ n: 3_000 }));
    expect(error).toBeUndefined();
    expect(messages.map((m) => m.i)).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
  });

  it('ends with the upstream status after the messages sent before it', async () => {
    const { messages, error } = await collect(client.count({ n: 10, failAfter: 3 }));
    expect(messages.map((m) => m.i)).toEqual([0, 1, 2]);
    expect(error).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: 'Container "web" is not running (after 3)' });
  });

  it('fails the stream with the error class of a failed pick', async () => {
    pickFails = new UnavailableError('No host is available');
    const { messages, error } = await collect(client.count({ n: 1 }));
    expect(messages).toEqual([]);
    expect(error).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'No host is available' });
  });

  it('cancels the upstream stream when the client cancels', async () => {
    const cancelled = once(upstreamSaw, 'cancelled:count');
    const stream = client.count({ n: 1, hang: true });
    const [first] = (await within(once(stream, 'data'), 'the first message')) as [{ i: number }];
    expect(first).toEqual({ i: 0 });
    stream.on('error', () => {}); // CANCELLED, expected: the client cancelled
    stream.cancel();
    await within(cancelled, 'the upstream cancellation');
  });
});

describe('forwardService: client streams', () => {
  function sum(values: Array<{ value: number; hang?: boolean }>, end = true) {
    let call!: grpc.ClientWritableStream<{ value: number }>;
    const result = new Promise<{ total: number }>((resolve, reject) => {
      call = client.sum((err, res) => (err ? reject(err) : resolve(res!)));
    });
    for (const v of values) call.write(v);
    if (end) call.end();
    return { call, result };
  }

  it('forwards every message and the end of the stream, and returns the answer', async () => {
    const values = Array.from({ length: 1_000 }, (_, i) => ({ value: i + 1 }));
    expect(await sum(values).result).toEqual({ total: 500_500 });
  });

  it('passes the upstream status through', async () => {
    await expect(sum([{ value: 2 }, { value: -5 }]).result).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'Invalid total: "-3" is below zero',
    });
  });

  it('cancels the upstream call when the client cancels', () => expectCancelReachesUpstream('sum', () => sum([{ value: 1, hang: true }], false)));
});

describe('forwardService: bidirectional streams', () => {
  it('carries messages both ways while the call is open (each answer before the next request)', async () => {
    const chat = client.chat();
    const answers: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      chat.write({ text });
      const [answer] = (await within(once(chat, 'data'), `the answer to "${text}"`)) as [{ text: string }];
      answers.push(answer.text);
    }
    const ended = once(chat, 'end');
    chat.end();
    await within(ended, 'the end of the stream');
    expect(answers).toEqual(['ONE', 'TWO', 'THREE']);
  });

  it('cancels the upstream call when the client cancels', async () => {
    const cancelled = once(upstreamSaw, 'cancelled:chat');
    const chat = client.chat();
    chat.write({ text: 'hi' });
    await within(once(chat, 'data'), 'the first answer');
    chat.on('error', () => {}); // CANCELLED, expected: the client cancelled
    chat.cancel();
    await within(cancelled, 'the upstream cancellation');
  });

  it('fails the stream with the error class of a failed pick', async () => {
    pickFails = new UnavailableError('No host is available');
    const chat = client.chat();
    chat.write({ text: 'hi' });
    chat.end();
    const { messages, error } = await collect(chat);
    expect(messages).toEqual([]);
    expect(error).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'No host is available' });
  });
});

describe('forwardService: upstreamError', () => {
  it('turns a failed upstream status into what the option makes of it, for unary calls and streams', async () => {
    // An upstream that is gone: nothing listens at its address any more.
    const gone = await listen(upstream);
    servers.pop()!.forceShutdown();
    const deadClient = new EchoClient(gone, grpc.credentials.createInsecure()) as unknown as Echo;
    const seen: grpc.Client[] = [];
    const gateway = await listen(
      forwardService(EchoService, async () => deadClient, {
        upstreamError: (err, upstreamClient) => {
          seen.push(upstreamClient);
          return err.code === grpc.status.UNAVAILABLE ? new UnavailableError(`host "h1" is unavailable: ${err.details}`) : err;
        },
      }),
    );
    const viaGateway = new EchoClient(gateway, grpc.credentials.createInsecure()) as unknown as Echo;
    try {
      const unaryErr = await new Promise<grpc.ServiceError>((resolve) => viaGateway.unary({ text: 'x' }, new grpc.Metadata(), (err) => resolve(err!)));
      expect(unaryErr).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/^host "h1" is unavailable: /) });
      const streamed = await collect(viaGateway.count({ n: 3 }));
      expect(streamed.error).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/^host "h1" is unavailable: /) });
      expect(seen).toEqual([deadClient, deadClient]);
    } finally {
      viaGateway.close();
      deadClient.close();
    }
  });
});

describe('forwardService over rawDefinition', () => {
  it('forwards calls of every kind without decoding a message in the gateway', async () => {
    const raw = rawDefinition(EchoService);
    const gateway = await listen(forwardService(raw, async () => upstreamClient), raw);
    const viaRaw = new EchoClient(gateway, grpc.credentials.createInsecure()) as unknown as Echo;
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-request', 'r1');
      decoded = 0;
      const answer = await new Promise<unknown>((resolve, reject) => viaRaw.unary({ text: 'hi' }, metadata, (err, res) => (err ? reject(err) : resolve(res))));
      expect(answer).toEqual({ echo: 'hi', header: 'r1' });
      expect(decoded).toBe(2); // the request upstream, the answer in the client: none in between

      const failed = await new Promise<grpc.ServiceError>((resolve) => viaRaw.unary({ text: 'web', fail: true }, new grpc.Metadata(), (err) => resolve(err!)));
      expect(failed).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'No such container: "web"' });
      expect(failed.metadata.get('berth-error-code')).toEqual(['NO_SUCH_CONTAINER']);

      expect((await collect(viaRaw.count({ n: 5 }))).messages).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));

      decoded = 0;
      const chat = viaRaw.chat();
      const answers = collect(chat);
      for (const text of ['one', 'two']) chat.write({ text });
      chat.end();
      expect((await within(answers, 'the chat')).messages).toEqual([{ text: 'ONE' }, { text: 'TWO' }]);
      expect(decoded).toBe(4);
    } finally {
      viaRaw.close();
    }
  });
});
