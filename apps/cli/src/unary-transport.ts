import type { IncomingHttpHeaders } from 'node:http2';
import { errorFromGrpc } from '@berth/errors';
import { CANCEL, ENHANCE_YOUR_CALM, H2Session, INADEQUATE_SECURITY, INTERNAL_ERROR, NO_ERROR, REFUSED_STREAM } from './h2/session.js';

/**
 * A gRPC unary call over HTTP/2 to the gateway, without @grpc/grpc-js: what the CLI's
 * one-request-one-answer commands (`ps`, `inspect`, `rm`, `stop`, …) use, grpc-js's load and
 * channel set-up having been half of such a command's CPU above Node's own start (bench/README.md,
 * "A lighter transport for the CLI's unary calls"). To a gateway on a unix socket (the local
 * case) it speaks HTTP/2 with h2/session.ts on a bare unix socket, as loading node:http2 cost
 * ~18 ms of CPU more; to a TCP gateway (TLS with a client certificate) it loads node:http2, and
 * both sessions give the answer to the same code. Streaming calls keep grpc-js, but for the
 * bidirectional ones of `build`, `run`, `attach` and `exec` (`duplex`, DuplexCall below, on the same sessions).
 *
 * What grpc-js gave these calls is kept: the request is the 5-byte prefix plus the encoded message
 * (gRPC over HTTP/2); the status comes from the trailers or a trailers-only answer, its message
 * percent-decoded as grpc-js does (decodeURI); the HTTP status and RST_STREAM codes map to gRPC
 * codes as grpc-js maps them; `grpc-timeout` and a local timer for a deadline; the message size
 * limits; and every failure rejects with the class of @berth/errors that `fromServiceError`
 * (libs/proto grpc.ts) makes, with the `berth-error-code` metadata as its code — a gateway that
 * cannot be reached as UNAVAILABLE `Cannot connect to the Berth platform: <why>`.
 */

/** What a call needs of a generated service definition's method: its path and codecs. */
interface MethodCodecs<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

/** One method of a generated service definition (`ContainersMethods.inspect`): its path and codecs. */
export interface UnaryMethod<Req, Res> extends MethodCodecs<Req, Res> {
  requestStream: false;
  responseStream: false;
}

/** Where the gateway is: `unix:/path` or `host:port` (libs/proto grpcTarget), with TLS on TCP. */
export interface TransportTarget {
  address: string;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

export interface UnaryCallOptions {
  /** Request metadata: header name → value(s) (lower-case names, ASCII values). */
  metadata?: Record<string, string | string[]>;
  /** When the call gives up, in ms since the epoch (grpc-js's `deadline`). */
  deadline?: number;
}

/** grpc-js's channelOptions in libs/proto: 64 MiB each way. */
const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;

const OK = 0;
const CANCELLED = 1;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;

/** A status as grpc-js gives it to a callback: code, details, and the metadata that came with it. */
class StatusFailure extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata: IncomingHttpHeaders = {},
  ) {
    super(`${code} ${details}`);
    this.name = 'StatusFailure';
  }
}

/** The Berth error for a status, as libs/proto's fromServiceError makes it. */
function berthError(failure: StatusFailure): Error {
  const code = failure.metadata['berth-error-code'];
  return errorFromGrpc(failure.code, failure.details, { cause: failure, code: typeof code === 'string' ? code : undefined });
}

/** The gateway could not be reached: grpc-js's "No connection established" as fromServiceError words it. */
function connectionError(why: string, cause?: unknown): Error {
  return errorFromGrpc(UNAVAILABLE, `Cannot connect to the Berth platform: ${why}`, { cause });
}

/** grpc-js's mapping of a non-200 HTTP status (subchannel-call.ts mapHttpStatusCode). */
function httpStatusFailure(status: number, metadata: IncomingHttpHeaders = {}): StatusFailure {
  const code = status === 400 ? INTERNAL : status === 401 ? UNAUTHENTICATED : status === 403 ? PERMISSION_DENIED : status === 404 ? UNIMPLEMENTED : [429, 502, 503, 504].includes(status) ? UNAVAILABLE : UNKNOWN;
  return new StatusFailure(code, `Received HTTP status code ${status}`, metadata);
}

/** The status a response's trailers (or trailers-only headers) carry; undefined when they carry none. */
function statusOf(headers: IncomingHttpHeaders): StatusFailure | undefined {
  const status = headers['grpc-status'];
  if (typeof status !== 'string') return undefined;
  const message = headers['grpc-message'];
  let details = '';
  if (typeof message === 'string') {
    try {
      details = decodeURI(message);
    } catch {
      details = message; // not valid percent-encoding: shown as sent, as grpc-js does
    }
  }
  return new StatusFailure(Number(status), details, headers);
}

/** grpc-js's reading of a stream closed without a status (subchannel-call.ts). */
function resetFailure(rstCode: number, { httpStatus, dropped }: { httpStatus: number | undefined; dropped: boolean }): StatusFailure {
  switch (rstCode) {
    case NO_ERROR:
      return httpStatus !== undefined && httpStatus !== 200 ? httpStatusFailure(httpStatus) : new StatusFailure(INTERNAL, `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`);
    case REFUSED_STREAM:
      return new StatusFailure(UNAVAILABLE, 'Stream refused by server');
    case CANCEL:
      // Node reports a dropped connection as a cancelled stream.
      return dropped ? new StatusFailure(UNAVAILABLE, 'Connection dropped') : new StatusFailure(CANCELLED, 'Call cancelled');
    case ENHANCE_YOUR_CALM:
      return new StatusFailure(RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case INADEQUATE_SECURITY:
      return new StatusFailure(PERMISSION_DENIED, 'Protocol not secure enough');
    case INTERNAL_ERROR:
      return new StatusFailure(INTERNAL, `Received RST_STREAM with code ${rstCode} (Internal server error)`);
    default:
      return new StatusFailure(INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
}

/** The gRPC message frame of `message`: compressed flag 0, 4-byte big-endian length, the bytes. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** grpc-timeout: at most 8 digits and a unit (gRPC over HTTP/2). */
function timeoutHeader(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  return whole < 1e8 ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

/** What a call reads of a stream: Node's ClientHttp2Stream and h2/session.ts's H2Stream both have it. */
interface CallStream {
  on(event: 'response' | 'trailers', listener: (headers: IncomingHttpHeaders) => void): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error' | 'close' | 'end' | 'drain', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  /** false: wait for 'drain' (a duplex call's messages). */
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): void;
  close(code: number): void;
  readonly closed: boolean;
  readonly destroyed: boolean;
  readonly rstCode?: number;
  readonly session: { readonly destroyed: boolean } | undefined;
}

/** What the transport uses of a session: Node's ClientHttp2Session and h2/session.ts's H2Session. */
interface CallSession {
  request(headers: Record<string, string | string[]>): CallStream;
  close(): void;
  readonly closed: boolean;
  readonly destroyed: boolean;
  once(event: 'connect' | 'remoteSettings' | 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * One HTTP/2 connection to the gateway for a command's unary calls, opened at the first call and
 * reopened after it drops; `close()` ends it once the calls under way have their answers.
 * `nodeHttp2`: a unix socket's calls on node:http2 too (the tests run both sessions).
 */
export class UnaryTransport {
  private session: CallSession | undefined;
  private ready: Promise<CallSession> | undefined;
  private readonly maxMessage: number;
  private readonly unixPath: string | undefined;
  private readonly light: boolean;

  constructor(
    private readonly target: TransportTarget,
    options: { maxMessageBytes?: number; nodeHttp2?: boolean } = {},
  ) {
    this.maxMessage = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
    this.unixPath = target.address.startsWith('unix:') ? target.address.slice('unix:'.length) : undefined;
    this.light = this.unixPath !== undefined && options.nodeHttp2 !== true;
  }

  /** Calls `method` with `request`; resolves with the answer or rejects with the Berth error class. */
  async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions = {}): Promise<Res> {
    const message = method.requestSerialize(request);
    if (message.length > this.maxMessage) {
      throw berthError(new StatusFailure(RESOURCE_EXHAUSTED, `Sent message larger than max (${message.length} vs. ${this.maxMessage})`));
    }
    const session = await this.connected();
    const headers = callHeaders(method.path, options.metadata);
    if (options.deadline !== undefined) headers['grpc-timeout'] = timeoutHeader(options.deadline - Date.now());
    let stream: CallStream;
    try {
      stream = session.request(headers);
    } catch (err) {
      // The session went away between connecting and this call (a GOAWAY): a later call reconnects.
      throw berthError(new StatusFailure(UNAVAILABLE, (err as Error).message));
    }
    stream.end(frame(message));
    const answer = await this.answer(stream, options.deadline);
    return method.responseDeserialize(answer);
  }

  /**
   * Starts a bidirectional streaming call (`berth build`'s Builder.Build, the attached streams of
   * `run`, `attach`, `exec`): its messages go out as they are written, and come back as
   * `messages()` yields them; the call's failure status rejects as a unary call's does. On the
   * same session as the unary calls: h2/session.ts to a unix socket (node:http2, with the http, tls
   * and dns modules it loads, cost a cached `berth build` 15–45 ms; bench/README.md), node:http2 to TCP.
   */
  duplex<Req, Res>(method: DuplexMethod<Req, Res>, options: Pick<UnaryCallOptions, 'metadata'> = {}): DuplexCall<Req, Res> {
    const headers = callHeaders(method.path, options.metadata);
    const stream = this.connected().then((session) => {
      try {
        return session.request(headers);
      } catch (err) {
        throw berthError(new StatusFailure(UNAVAILABLE, (err as Error).message));
      }
    });
    return new DuplexCall(method, stream, this.maxMessage);
  }

  /** Ends the connection once the calls under way are answered. */
  close(): void {
    const session = this.session;
    this.session = undefined;
    this.ready = undefined;
    session?.close();
  }

  /** The session once it takes calls: connected (h2/session.ts), or the gateway's HTTP/2 settings arrived (node:http2, grpc-js's READY). */
  connected(): Promise<CallSession> {
    if (this.ready && !this.session?.closed && !this.session?.destroyed) return this.ready;
    this.session = undefined;
    const ready = this.open().then((session) => {
      this.session = session;
      return new Promise<CallSession>((resolve, reject) => {
        let why = 'Failed to connect'; // grpc-js's words for a connection closed before the settings
        let cause: unknown;
        const fail = () => {
          if (this.session === session) this.close();
          reject(connectionError(why, cause));
        };
        // h2/session.ts: once the socket is connected. A call's frames then go out with the client's
        // preface (one write), and the gateway answers without first waiting for the CLI to read its
        // SETTINGS. node:http2 (TCP, TLS): once the gateway's SETTINGS came, as grpc-js's READY.
        session.once(this.light ? 'connect' : 'remoteSettings', () => {
          session.off('close', fail);
          resolve(session);
        });
        session.once('close', fail);
        session.on('error', (err: Error) => {
          // Before the settings: why the connection failed (reported at 'close'); after: the calls
          // under way fail on their streams, and the next call reconnects.
          why = err.message;
          cause = err;
          if (this.session === session) {
            this.session = undefined;
            this.ready = undefined;
          }
        });
      });
    });
    this.ready = ready;
    return ready;
  }

  /** A new session: h2/session.ts on a unix socket, node:http2 (loaded only then) otherwise. */
  private async open(): Promise<CallSession> {
    const unix = this.unixPath;
    if (unix !== undefined && this.light) return new H2Session(unix);
    const { connect } = await import('node:http2');
    const { tls } = this.target;
    const session = unix
      ? connect('http://localhost', { createConnection: () => process.getBuiltinModule('node:net').connect(unix), maxSessionMemory: Number.MAX_SAFE_INTEGER })
      : connect(`https://${this.target.address}`, { ca: tls?.ca, cert: tls?.cert, key: tls?.key, maxSessionMemory: Number.MAX_SAFE_INTEGER });
    return session as unknown as CallSession;
  }

  /** The one message of a unary answer, or its failure as a Berth error. */
  private answer(stream: CallStream, deadline: number | undefined): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let checked = false;
      let httpStatus: number | undefined;
      let status: StatusFailure | undefined;
      let failure: StatusFailure | undefined; // decided here (size, deadline), not by the server
      let timer: NodeJS.Timeout | undefined;
      const stop = (why: StatusFailure) => {
        failure ??= why;
        stream.close(CANCEL);
      };
      if (deadline !== undefined) timer = setTimeout(() => stop(new StatusFailure(DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.max(0, deadline - Date.now()));
      stream.on('response', (headers: IncomingHttpHeaders) => {
        httpStatus = Number(headers[':status']);
        status = statusOf(headers); // a trailers-only answer
        if (status === undefined && httpStatus !== 200) status = httpStatusFailure(httpStatus, headers);
      });
      stream.on('trailers', (headers: IncomingHttpHeaders) => {
        status = statusOf(headers) ?? (httpStatus !== undefined && httpStatus !== 200 ? httpStatusFailure(httpStatus, headers) : new StatusFailure(UNKNOWN, 'No status information received', headers));
      });
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (checked || received < 5) return;
        checked = true; // the length prefix is in: refuse a message over the limit before it all comes
        const length = Buffer.concat(chunks).readUInt32BE(1);
        if (length > this.maxMessage) stop(new StatusFailure(RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.maxMessage})`));
      });
      stream.on('error', () => {
        // What failed is read at 'close' (rstCode, the status): nothing to do here.
      });
      stream.on('close', () => {
        clearTimeout(timer);
        const dropped = stream.session === undefined || stream.session.destroyed;
        const end = failure ?? status ?? resetFailure(stream.rstCode ?? NO_ERROR, { httpStatus, dropped });
        if (end.code !== OK) return reject(berthError(end));
        const body = Buffer.concat(chunks);
        if (body.length < 5) return reject(berthError(new StatusFailure(INTERNAL, 'No message received', end.metadata)));
        const length = body.readUInt32BE(1);
        if (body[0] !== 0) return reject(berthError(new StatusFailure(INTERNAL, 'Received a compressed message: the CLI asks for identity only', end.metadata)));
        if (body.length > 5 + length) return reject(berthError(new StatusFailure(UNIMPLEMENTED, 'Too many responses received', end.metadata)));
        if (body.length < 5 + length) return reject(berthError(new StatusFailure(INTERNAL, 'Received a truncated message', end.metadata)));
        resolve(body.subarray(5));
      });
    });
  }
}

/** A streaming method of a generated service definition (`BuilderMethods.build`). */
export interface DuplexMethod<Req, Res> extends MethodCodecs<Req, Res> {
  requestStream: true;
  responseStream: true;
}

/**
 * One bidirectional call over the transport's connection: `write` resolves once the message is
 * buffered (after 'drain' when the stream is full), `end` half-closes, `cancel` resets the stream
 * (the server sees the call cancelled), `messages()` yields the answers and ends with the status:
 * OK ends it, anything else throws the Berth error class, as grpc-js and libs/proto serverStream do.
 */
export class DuplexCall<Req, Res> {
  readonly #stream: Promise<CallStream>;
  readonly #closed: Promise<void>;
  #httpStatus: number | undefined;
  #status: StatusFailure | undefined;
  #failure: StatusFailure | undefined;
  /** The answer's bytes as they came ('data'), until the server's end or the stream's close. */
  readonly #received: Buffer[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(
    private readonly method: DuplexMethod<Req, Res>,
    stream: Promise<CallStream>,
    private readonly maxMessage: number,
  ) {
    this.#stream = stream;
    const ended = () => {
      this.#ended = true;
      this.#wake?.();
    };
    this.#closed = stream.then(
      (s) =>
        new Promise<void>((resolve) => {
          s.on('response', (headers) => {
            this.#httpStatus = Number(headers[':status']);
            this.#status = statusOf(headers); // a trailers-only answer
            if (this.#status === undefined && this.#httpStatus !== 200) this.#status = httpStatusFailure(this.#httpStatus, headers);
          });
          s.on('trailers', (headers) => {
            this.#status = statusOf(headers) ?? new StatusFailure(UNKNOWN, 'No status information received', headers);
          });
          // Read from the start (no answer is missed before `messages()` runs), whichever stream it is.
          s.on('data', (chunk) => {
            this.#received.push(chunk);
            this.#wake?.();
          });
          s.on('end', ended);
          s.on('error', () => {
            // What failed is read at 'close' (rstCode, the status): nothing to do here.
          });
          s.on('close', () => {
            ended();
            resolve();
          });
        }),
      () => undefined, // no stream: `messages()` rejects with the connection's error
    );
  }

  async write(message: Req): Promise<void> {
    const s = await this.#stream;
    if (s.closed || s.destroyed) return; // the call ended: its status says why, through messages()
    if (s.write(frame(this.method.requestSerialize(message)))) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  async end(): Promise<void> {
    const s = await this.#stream;
    if (!s.closed && !s.destroyed) s.end();
  }

  cancel(): void {
    this.#failure ??= new StatusFailure(CANCELLED, 'Call cancelled');
    this.#stream.then(
      (s) => s.close(CANCEL),
      () => undefined, // never connected: nothing to cancel
    );
  }

  /** The next chunk of the answer; undefined once the server has ended (or the stream closed) and all was read. */
  async #next(): Promise<Buffer | undefined> {
    for (;;) {
      const chunk = this.#received.shift();
      if (chunk !== undefined || this.#ended) return chunk;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  async *messages(): AsyncGenerator<Res> {
    const s = await this.#stream;
    let pending: Buffer = Buffer.alloc(0);
    for (let chunk = await this.#next(); chunk !== undefined; chunk = await this.#next()) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (length > this.maxMessage) {
          this.#failure ??= new StatusFailure(RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.maxMessage})`);
          s.close(CANCEL);
          break;
        }
        if (pending[0] !== 0) {
          this.#failure ??= new StatusFailure(INTERNAL, 'Received a compressed message: the CLI asks for identity only');
          s.close(CANCEL);
          break;
        }
        if (pending.length < 5 + length) break;
        const body = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        yield this.method.responseDeserialize(body);
      }
    }
    // The server has ended its side: the call is over, whatever this side still meant to send (as
    // with grpc-js), and the stream closes only once both sides have.
    if (!s.closed) s.close(NO_ERROR);
    await this.#closed;
    const dropped = s.session === undefined || s.session.destroyed;
    const end = this.#failure ?? this.#status ?? resetFailure(s.rstCode ?? NO_ERROR, { httpStatus: this.#httpStatus, dropped });
    if (end.code !== OK) throw berthError(end);
    if (pending.length > 0) throw berthError(new StatusFailure(INTERNAL, 'Received a truncated message', end.metadata));
  }
}

/** The HTTP/2 request headers of a gRPC call to `path` (the caller's metadata first). */
function callHeaders(path: string, metadata: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return { ...metadata, ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-accept-encoding': 'identity' };
}
