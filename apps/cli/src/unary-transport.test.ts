import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, InternalError, NotFoundError, UnavailableError } from '@berth/errors';
import { unary } from '@berth/proto';
import { makeTlsFiles, tempDir, type TempDir, type TlsFiles, waitUntil } from '@berth/testing';
import { daemonMessage, isConnectionError } from './cli-errors.js';
import { UnaryTransport, type UnaryMethod } from './unary-transport.js';

/**
 * The CLI's unary transport against real grpc-js servers (a unix socket, and TCP with TLS and client
 * certificates, as the gateway serves them): answers, statuses with metadata, trailers-only
 * answers, the size limits, a deadline, connection failures, and the same Berth errors a grpc-js
 * client gets through libs/proto's `unary`.
 */

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};
const method = (name: string): UnaryMethod<unknown, unknown> & grpc.MethodDefinition<unknown, unknown> => ({
  path: `/berth.test.Echo/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const Echo = { echo: method('Echo'), fail: method('Fail'), failLate: method('FailLate'), big: method('Big'), hang: method('Hang'), chat: { ...method('Chat'), requestStream: true as const, responseStream: true as const } };
const EchoClient = grpc.makeGenericClientConstructor(Echo, 'Echo');

function status(code: grpc.status, details: string, berthCode?: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (berthCode) metadata.set('berth-error-code', berthCode);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** Chat calls the server saw cancelled. */
const chatCancelled: boolean[] = [];

/** The metadata each Echo call saw, for the assertions. */
const seen: Array<Record<string, grpc.MetadataValue[]>> = [];
const handlers: grpc.UntypedServiceImplementation = {
  echo: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
    seen.push(Object.fromEntries(['berth-node', 'berth-constraint'].map((k) => [k, call.metadata.get(k)])));
    done(null, { echoed: call.request });
  },
  // No headers sent yet: grpc-js answers trailers-only (the status in the response headers).
  fail: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
    const { code, details, berthCode } = call.request as { code: number; details: string; berthCode?: string };
    done(status(code, details, berthCode));
  },
  // Headers first, then the status in the trailers.
  failLate: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
    call.sendMetadata(new grpc.Metadata());
    setTimeout(() => done(status(grpc.status.ABORTED, 'Conflict: the name "web" is in use', 'NAME_IN_USE')), 20);
  },
  big: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => done(null, { text: 'x'.repeat((call.request as { size: number }).size) }),
  // Echoes each message (`{ many: n }`: n answers at once) until the client ends, or fails on `{ fail: … }`.
  chat: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
    call.on('data', (m: { many?: number; fail?: string }) => {
      if (m.fail) return call.emit('error', status(grpc.status.NOT_FOUND, m.fail, 'NO_SUCH_THING'));
      for (let i = 0; i < (m.many ?? 1); i++) call.write({ echoed: m, i });
    });
    call.on('end', () => call.end());
    call.on('cancelled', () => chatCancelled.push(true));
  },
  hang: () => {
    // Never answers: the deadline's test.
  },
};

let dir: TempDir;
let socket: string;
let tls: TlsFiles;
let tlsPort: number;
const servers: grpc.Server[] = [];

async function serve(address: string, credentials: grpc.ServerCredentials): Promise<number> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  server.addService(Echo, handlers);
  servers.push(server);
  return new Promise<number>((res, rej) => server.bindAsync(address, credentials, (err, port) => (err ? rej(err) : res(port))));
}

beforeAll(async () => {
  dir = tempDir('berth-unary-transport-');
  socket = join(dir.path, 'api.sock');
  await serve(`unix:${socket}`, grpc.ServerCredentials.createInsecure());
  tls = await makeTlsFiles(join(dir.path, 'tls'));
  const read = (f: string) => readFileSync(f);
  tlsPort = await serve('127.0.0.1:0', grpc.ServerCredentials.createSsl(read(tls.ca), [{ cert_chain: read(tls.serverCert), private_key: read(tls.serverKey) }], true));
}, 30_000);

afterAll(() => {
  for (const s of servers) s.forceShutdown();
  dir?.remove();
});

/** A transport for the test's duration. */
function testTransportOf(options: ConstructorParameters<typeof UnaryTransport>[1] = {}, target = { address: `unix:${socket}` }): UnaryTransport {
  const t = new UnaryTransport(target, options);
  afterAll(() => t.close());
  return t;
}

/** What grpc-js plus libs/proto's `unary` make of the same call: the behaviour to keep. */
async function viaGrpcJs(m: keyof typeof Echo, request: unknown): Promise<unknown> {
  const client = new EchoClient(`unix:${socket}`, grpc.credentials.createInsecure());
  try {
    return await unary(client, (client as unknown as Record<string, Parameters<typeof unary>[1]>)[m]!, request);
  } catch (err) {
    return err;
  } finally {
    client.close();
  }
}

const rejection = (p: Promise<unknown>) => p.then((v) => ({ resolved: v }), (err: unknown) => err);
const shape = (err: unknown) => (err instanceof BerthError ? { class: err.constructor.name, message: err.message, code: err.code } : err);

// Both sessions a unix socket's calls can go over: h2/session.ts (what the CLI uses) and node:http2.
for (const [session, nodeHttp2] of [['h2/session.ts', false], ['node:http2', true]] as const) {
describe(`a unary call over a unix socket (${session})`, () => {
  const transport = (options: ConstructorParameters<typeof UnaryTransport>[1] = {}) => testTransportOf({ ...options, nodeHttp2 });
  it('sends the request with its metadata and returns the answer', async () => {
    const t = transport();
    seen.length = 0;
    const answer = await t.call(Echo.echo, { id: 'web' }, { metadata: { 'berth-node': 'node-2', 'berth-constraint': 'node.labels.zone==a' } });
    expect(answer).toEqual({ echoed: { id: 'web' } });
    expect(seen).toEqual([{ 'berth-node': ['node-2'], 'berth-constraint': ['node.labels.zone==a'] }]);
    // Several calls share the connection, in parallel.
    const many = await Promise.all([1, 2, 3].map((i) => t.call(Echo.echo, i)));
    expect(many).toEqual([1, 2, 3].map((i) => ({ echoed: i })));
  });

  it('turns a trailers-only error status into the Berth error grpc-js gives, code and percent-encoded message included', async () => {
    const t = transport();
    const request = { code: grpc.status.NOT_FOUND, details: 'No such container: "wéb" (100% gone, 50%20 left)', berthCode: 'NO_SUCH_CONTAINER' };
    const err = await rejection(t.call(Echo.fail, request));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(shape(err)).toEqual({ class: 'NotFoundError', message: request.details, code: 'NO_SUCH_CONTAINER' });
    expect(shape(err)).toEqual(shape(await viaGrpcJs('fail', request)));
  });

  it('reads a status that comes in trailers after the headers', async () => {
    const err = await rejection(transport().call(Echo.failLate, {}));
    expect(shape(err)).toEqual({ class: 'ConflictError', message: 'Conflict: the name "web" is in use', code: 'NAME_IN_USE' });
    expect(shape(err)).toEqual(shape(await viaGrpcJs('failLate', {})));
  });

  it('maps codes outside Berth\'s set as grpc-js does (UNKNOWN: internal; an unimplemented method)', async () => {
    const t = transport();
    const unknown = { code: grpc.status.UNKNOWN, details: 'boom' };
    expect(shape(await rejection(t.call(Echo.fail, unknown)))).toEqual(shape(await viaGrpcJs('fail', unknown)));
    const missing = await rejection(t.call({ ...Echo.echo, path: '/berth.test.Echo/Nope' }, {}));
    expect(missing).toBeInstanceOf(InternalError); // UNIMPLEMENTED
    expect((missing as Error).message).toMatch(/Nope/);
  });

  it('carries messages of several MiB and refuses one over the limit either way', async () => {
    const t = transport();
    const size = 10 * 1024 * 1024;
    expect(((await t.call(Echo.big, { size })) as { text: string }).text.length).toBe(size);
    const small = transport({ maxMessageBytes: 1024 * 1024 });
    const received = await rejection(small.call(Echo.big, { size: 2 * 1024 * 1024 }));
    expect(received).toBeInstanceOf(InternalError);
    expect((received as Error).message).toBe(`Received message larger than max (${2 * 1024 * 1024 + '{"text":""}'.length} vs ${1024 * 1024})`);
    const sent = await rejection(small.call(Echo.echo, 'y'.repeat(2 * 1024 * 1024)));
    expect((sent as Error).message).toBe(`Sent message larger than max (${2 * 1024 * 1024 + 2} vs. ${1024 * 1024})`);
    // The connection is still good.
    expect(await small.call(Echo.echo, 'after')).toEqual({ echoed: 'after' });
  }, 30_000);

  it('gives up at the deadline', async () => {
    const started = Date.now();
    const err = await rejection(transport().call(Echo.hang, {}, { deadline: Date.now() + 300 }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toBe('Deadline exceeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('lets the process exit once closed (no handle left open)', async () => {
    const script = join(dir.path, 'close.mts');
    writeFileSync(
      script,
      `import { UnaryTransport } from ${JSON.stringify(resolve(import.meta.dirname, 'unary-transport.ts'))};
       const m = ${JSON.stringify({ path: Echo.echo.path })};
       const t = new UnaryTransport({ address: ${JSON.stringify(`unix:${socket}`)} }, { nodeHttp2: ${nodeHttp2} });
       const codec = { requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)), responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) };
       const answer = await t.call({ ...m, requestStream: false, responseStream: false, ...codec }, 'bye');
       t.close();
       console.log(JSON.stringify(answer));`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TSX_TSCONFIG_PATH: resolve(import.meta.dirname, '../../../tsconfig.json') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    expect({ code, signal, out }).toEqual({ code: 0, signal: null, out: '{"echoed":"bye"}\n' });
  }, 30_000);
});

describe(`a gateway that cannot be reached (${session})`, () => {
  it('is "Is the platform running?" for a missing socket and for a path nothing listens on', async () => {
    for (const path of [join(dir.path, 'missing.sock'), join(dir.path, 'not-a-socket')]) {
      writeFileSync(join(dir.path, 'not-a-socket'), '');
      const err = await rejection(new UnaryTransport({ address: `unix:${path}` }, { nodeHttp2 }).call(Echo.echo, {}));
      expect(err).toBeInstanceOf(UnavailableError);
      expect(isConnectionError(err)).toBe(true);
      expect(daemonMessage(err, `unix:${path}`)).toBe(`Cannot connect to the Berth platform at unix:${path}. Is the platform running?`);
    }
  });
});
}

describe('TCP with TLS and a client certificate', () => {
  const transport = testTransportOf;
  const files = () => ({ ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) });

  it('calls the gateway with a certificate of its CA', async () => {
    const t = transport({}, { address: `127.0.0.1:${tlsPort}`, tls: files() } as never);
    expect(await t.call(Echo.echo, 'over tls')).toEqual({ echoed: 'over tls' });
    const err = await rejection(t.call(Echo.fail, { code: grpc.status.NOT_FOUND, details: 'No such image: x', berthCode: 'NO_SUCH_IMAGE' }));
    expect(shape(err)).toEqual({ class: 'NotFoundError', message: 'No such image: x', code: 'NO_SUCH_IMAGE' });
  });

  it('reports a refused client certificate as the gateway closing the connection, as with grpc-js', async () => {
    const host = `tcp://127.0.0.1:${tlsPort}`;
    const rogue = { ca: readFileSync(tls.ca), cert: readFileSync(tls.rogueCert), key: readFileSync(tls.rogueKey) };
    const err = await rejection(new UnaryTransport({ address: `127.0.0.1:${tlsPort}`, tls: rogue }).call(Echo.echo, {}));
    expect(isConnectionError(err)).toBe(true);
    expect(daemonMessage(err, host)).toBe(
      `Cannot connect to the Berth platform at ${host}: TLS handshake failed: the gateway closed the connection (the gateway wants a client certificate signed by its CA: --tlscert, --tlskey)`,
    );
  });

  it('refuses a gateway whose certificate is not of the CA it was given', async () => {
    const host = `tcp://127.0.0.1:${tlsPort}`;
    const otherCa = { ca: readFileSync(tls.rogueCert), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) };
    const err = await rejection(new UnaryTransport({ address: `127.0.0.1:${tlsPort}`, tls: otherCa }).call(Echo.echo, {}));
    expect(isConnectionError(err)).toBe(true);
    expect(daemonMessage(err, host)).toMatch(/^Cannot connect to the Berth platform at tcp:\/\/127\.0\.0\.1:\d+: TLS handshake failed: .*certificate/);
  });
});

// Both sessions again: the CLI's duplex calls go over h2/session.ts to a unix socket too.
for (const [session, nodeHttp2] of [['h2/session.ts', false], ['node:http2', true]] as const) {
describe(`a bidirectional call (${session})`, () => {
  const testTransport = () => testTransportOf({ nodeHttp2 });
  it('sends messages as written, yields the answers across frames, and ends with an OK status', async () => {
    const call = testTransport().duplex(Echo.chat);
    await call.write({ n: 1 });
    await call.write({ many: 300, text: 'y'.repeat(1000) }); // answers split over several HTTP/2 frames
    await call.end();
    const answers: unknown[] = [];
    for await (const m of call.messages()) answers.push(m);
    expect(answers.length).toBe(301);
    expect(answers[0]).toEqual({ echoed: { n: 1 }, i: 0 });
    expect(answers[300]).toEqual({ echoed: { many: 300, text: 'y'.repeat(1000) }, i: 299 });
  });

  it('throws the Berth error of a failed status, and tells the server when it is cancelled', async () => {
    const failing = testTransport().duplex(Echo.chat);
    await failing.write({ n: 1 });
    await failing.write({ fail: 'No such thing: "x"' });
    const got: unknown[] = [];
    const err = await (async () => {
      for await (const m of failing.messages()) got.push(m);
    })().catch((e: unknown) => e);
    expect(got).toEqual([{ echoed: { n: 1 }, i: 0 }]);
    expect(shape(err)).toEqual({ class: 'NotFoundError', message: 'No such thing: "x"', code: 'NO_SUCH_THING' });

    chatCancelled.length = 0;
    const cancelled = testTransport().duplex(Echo.chat);
    await cancelled.write({ n: 1 });
    const reading = (async () => {
      for await (const m of cancelled.messages()) void m;
    })().catch((e: unknown) => e);
    await new Promise<void>((r) => setImmediate(r));
    cancelled.cancel();
    expect(shape(await reading)).toMatchObject({ message: 'Call cancelled' });
    await waitUntil('the server to see the call cancelled', () => chatCancelled.length === 1, { timeoutMs: 5_000 });
  });

  it('sends messages larger than the peer\'s windows, waiting for them as a stream waits for drain', async () => {
    const call = testTransport().duplex(Echo.chat);
    const big = 'z'.repeat(3_000_000); // over HTTP/2's 64 KiB initial windows: sent as the server grants more
    for (let n = 0; n < 3; n++) await call.write({ n, text: big });
    await call.end();
    const answers: Array<{ echoed: { n?: number; text?: string } }> = [];
    for await (const m of call.messages()) answers.push(m as { echoed: { n?: number; text?: string } });
    expect(answers.map((a) => [a.echoed.n ?? 0, a.echoed.text?.length])).toEqual([[0, 3_000_000], [1, 3_000_000], [2, 3_000_000]]);
  });
});
}

