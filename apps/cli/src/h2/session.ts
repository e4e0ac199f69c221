import { EventEmitter } from 'node:events';
import { encodeHeaders, HpackDecoder } from './hpack.js';
import { connectUnix, type UnixSocket } from './unix-socket.js';

/**
 * A small HTTP/2 client (RFC 9113) on a bare unix socket (unix-socket.ts), for the CLI's unary gRPC
 * calls to a gateway on a unix socket: loading node:http2 (with the http, tls and crypto modules it
 * pulls in) cost ~18 ms of CPU per command (bench/README.md, "ps, inspect, rm: HTTP/2 without
 * node:http2"). It speaks what a gRPC client needs and nothing more: the connection preface
 * and SETTINGS (acknowledged both ways), one stream per request (HEADERS as HPACK literals, DATA
 * within the peer's flow-control windows, END_STREAM), and reads HEADERS/CONTINUATION (HPACK with
 * Huffman coding and the dynamic table), DATA, trailers, RST_STREAM, GOAWAY, PING, WINDOW_UPDATE.
 * No push (disabled in SETTINGS), no priorities, no TLS (TCP gateways keep node:http2).
 *
 * Its session and streams emit the events of Node's ClientHttp2Session and ClientHttp2Stream that
 * unary-transport.ts listens to ('remoteSettings', 'error', 'close'; 'response', 'trailers',
 * 'data', 'close'), so one code path reads an answer from either.
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

export const NO_ERROR = 0x0;
export const PROTOCOL_ERROR = 0x1;
export const INTERNAL_ERROR = 0x2;
export const FLOW_CONTROL_ERROR = 0x3;
export const FRAME_SIZE_ERROR = 0x6;
export const REFUSED_STREAM = 0x7;
export const CANCEL = 0x8;
export const COMPRESSION_ERROR = 0x9;
export const ENHANCE_YOUR_CALM = 0xb;
export const INADEQUATE_SECURITY = 0xc;

/** The largest window HTTP/2 allows: what this side announces, so answers of up to 64 MiB flow. */
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65535;
/** Windows are topped up again once this much of them has been used. */
const REFILL_AT = 2 ** 30;

/** Response headers as Node's http2 gives them: lower-case names, repeated ones joined with ", " (set-cookie an array). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value, 0);
  return b;
}

/** A protocol failure of the whole connection (sent as GOAWAY, the session destroyed with it). */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'Http2ConnectionError';
  }
}

/**
 * One request's stream: its answer comes as 'response', 'data', 'trailers', 'end' (the peer has
 * ended its side), then 'close'; `write` and 'drain' for a call that sends more than one message.
 */
export class H2Stream extends EventEmitter {
  /** The RST_STREAM code it ended with (NO_ERROR when it ended normally), once closed. */
  rstCode: number | undefined;
  closed = false;
  destroyed = false;
  /** Headers blocks received so far (the first is the response, the next the trailers). */
  headersSeen = 0;
  /** Bytes this side may still send on the stream (the peer's window). */
  sendWindow: number;
  /** What is waiting for window to be sent, and whether END_STREAM follows it. */
  pending: Buffer[] = [];
  ending = false;
  localEnded = false;
  remoteEnded = false;
  received = 0;

  constructor(
    readonly id: number,
    private readonly owner: H2Session,
  ) {
    super();
    this.sendWindow = owner.peerInitialWindow;
  }

  /** The session while the stream is open (undefined after, as Node's). */
  get session(): H2Session | undefined {
    return this.owner;
  }

  /** What waits for window to be sent: more than this and `write` asks the writer to wait for 'drain'. */
  static readonly HIGH_WATER = 16384;
  /** A write returned false: 'drain' once what waits has gone out. */
  needDrain = false;

  /**
   * Sends `chunk` on the stream (as far as both windows allow now, the rest at the peer's
   * WINDOW_UPDATE). @returns false when more than HIGH_WATER bytes wait: 'drain' says when they have
   * gone out, as a Node stream's `write` does.
   */
  write(chunk: Buffer): boolean {
    if (this.closed || this.ending) return true; // the call is over: its end says why
    if (chunk.length > 0) this.pending.push(chunk);
    this.owner.flush(this);
    let waiting = 0;
    for (const part of this.pending) waiting += part.length;
    if (waiting <= H2Stream.HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  /** Sends `chunk` (if any) and ends this side of the stream. */
  end(chunk?: Buffer): void {
    if (this.closed || this.ending) return;
    if (chunk && chunk.length > 0) this.pending.push(chunk);
    this.ending = true;
    this.owner.flush(this);
  }

  /** Resets the stream with `code` unless it has already closed. */
  close(code = NO_ERROR): void {
    if (this.closed) return;
    this.owner.reset(this, code);
  }
}

/**
 * One HTTP/2 connection over a unix socket. `request()` opens a stream; `close()` ends the
 * connection once its streams are done; 'connect' when the socket is connected (the client's
 * preface and SETTINGS written: requests may follow at once, as HTTP/2 allows), 'remoteSettings'
 * when the server's SETTINGS arrive, 'error' on a socket or protocol failure, 'close' at the end.
 */
export class H2Session extends EventEmitter {
  closed = false;
  destroyed = false;
  peerInitialWindow = DEFAULT_WINDOW;
  private readonly socket: UnixSocket;
  private readonly streams = new Map<number, H2Stream>();
  private readonly decoder = new HpackDecoder();
  private nextId = 1;
  private sendWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16384;
  private received = 0;
  private buffered: Buffer = Buffer.alloc(0);
  private settled = false; // the server's first SETTINGS came
  private block: { stream: number; flags: number; parts: Buffer[] } | undefined; // a header block in CONTINUATIONs
  private goneAway = false;
  private corked = false; // writes wait for the end of this turn of the event loop (send)

  /** `options.net`: on a net.Socket rather than libuv's pipe handle (unix-socket.ts; tests run both). */
  constructor(path: string, options: { net?: boolean } = {}) {
    super();
    const socket = connectUnix(path, options);
    this.socket = socket;
    socket.on('connect', () => {
      // ENABLE_PUSH 0, INITIAL_WINDOW_SIZE the most; the connection's own window raised likewise.
      const settings = Buffer.concat([Buffer.from([0, 2, 0, 0, 0, 0, 0, 4]), u32(MAX_WINDOW)]);
      this.send(Buffer.concat([PREFACE, frameHeader(12, SETTINGS, 0, 0), settings, frameHeader(4, WINDOW_UPDATE, 0, 0), u32(MAX_WINDOW - DEFAULT_WINDOW)]));
      this.emit('connect');
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.read(chunk);
      } catch (err) {
        this.fail(err instanceof ConnectionError ? err : new ConnectionError(COMPRESSION_ERROR, (err as Error).message));
      }
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /**
   * Opens a stream with these request headers (pseudo-headers first, as HTTP/2 requires; `:scheme`
   * and `:authority` added as Node's client adds them: servers refuse a request without `:scheme`).
   */
  request(requested: Record<string, string | string[]>): H2Stream {
    if (this.destroyed || this.closed) throw new Error('The session has been destroyed');
    if (this.goneAway) throw new Error('New streams cannot be created after receiving a GOAWAY');
    const headers: Record<string, string | string[]> = { ':scheme': 'http', ':authority': 'localhost', ...requested };
    const fields: Array<[string, string]> = [];
    const names = Object.keys(headers).sort((a, b) => Number(b.startsWith(':')) - Number(a.startsWith(':')));
    for (const name of names) for (const value of [headers[name]!].flat()) fields.push([name.toLowerCase(), value]);
    const stream = new H2Stream(this.nextId, this);
    this.nextId += 2;
    this.streams.set(stream.id, stream);
    const block = encodeHeaders(fields);
    const out: Buffer[] = [];
    for (let at = 0; at < block.length || at === 0; at += this.peerMaxFrame) {
      const part = block.subarray(at, at + this.peerMaxFrame);
      const last = at + this.peerMaxFrame >= block.length;
      out.push(frameHeader(part.length, at === 0 ? HEADERS : CONTINUATION, last ? END_HEADERS : 0, stream.id), part);
    }
    this.send(Buffer.concat(out));
    return stream;
  }

  /**
   * Writes `data` with whatever else this turn of the event loop writes, in one system call: a
   * call's frames went out in three writes, each one waking the gateway (`strace` of `inspect`;
   * bench/README.md, "ps, inspect, rm: fewer of Node's modules, one write, a check per pack").
   */
  private send(data: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(data);
  }

  /** Ends the connection once every stream has closed (a GOAWAY first, as Node's close does). */
  close(): void {
    if (this.closed || this.destroyed) return;
    this.closed = true;
    if (this.streams.size === 0) this.end();
  }

  /** Writes what a stream has pending, as far as both windows allow. */
  flush(stream: H2Stream): void {
    if (this.destroyed) return;
    while (stream.pending.length > 0) {
      const room = Math.min(this.sendWindow, stream.sendWindow, this.peerMaxFrame);
      if (room <= 0) return; // the rest goes at the peer's WINDOW_UPDATE
      const head = stream.pending[0]!;
      const part = head.length <= room ? head : head.subarray(0, room);
      if (part === head) stream.pending.shift();
      else stream.pending[0] = head.subarray(room);
      this.sendWindow -= part.length;
      stream.sendWindow -= part.length;
      const last = stream.ending && stream.pending.length === 0;
      this.send(Buffer.concat([frameHeader(part.length, DATA, last ? END_STREAM : 0, stream.id), part]));
      if (last) this.localEnd(stream);
    }
    if (stream.ending && !stream.localEnded) {
      this.send(frameHeader(0, DATA, END_STREAM, stream.id));
      this.localEnd(stream);
    }
    if (stream.needDrain && stream.pending.length === 0 && !stream.closed) {
      stream.needDrain = false;
      stream.emit('drain');
    }
  }

  /** Resets a stream: RST_STREAM to the peer, closed here with that code. */
  reset(stream: H2Stream, code: number): void {
    if (!this.destroyed) this.send(Buffer.concat([frameHeader(4, RST_STREAM, 0, stream.id), u32(code)]));
    this.closeStream(stream, code);
  }

  private localEnd(stream: H2Stream): void {
    stream.localEnded = true;
    if (stream.remoteEnded) this.closeStream(stream, NO_ERROR);
  }

  private closeStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.destroyed = true;
    stream.rstCode = code;
    stream.pending = [];
    this.streams.delete(stream.id);
    stream.emit('close');
    if (this.closed && this.streams.size === 0) this.end();
  }

  private end(): void {
    if (this.destroyed) return;
    this.socket.end(Buffer.concat([frameHeader(8, GOAWAY, 0, 0), u32(0), u32(NO_ERROR)]));
  }

  /** A protocol error of the peer: GOAWAY with its code, then the connection is gone. */
  private fail(err: ConnectionError): void {
    if (!this.destroyed) this.send(Buffer.concat([frameHeader(8, GOAWAY, 0, 0), u32(0), u32(err.code)]));
    this.destroy(err);
  }

  /** The connection is gone: open streams close as Node closes them (CANCEL), then 'close'. */
  private destroy(err?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    this.socket.destroy();
    if (err) this.emit('error', err);
    for (const stream of [...this.streams.values()]) this.closeStream(stream, CANCEL);
    this.emit('close');
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9 && !this.destroyed) {
      const length = this.buffered.readUIntBE(0, 3);
      if (length > 16384) throw new ConnectionError(FRAME_SIZE_ERROR, `a frame of ${length} bytes over the 16384 allowed`);
      if (this.buffered.length < 9 + length) return;
      const type = this.buffered[3]!;
      const flags = this.buffered[4]!;
      const id = this.buffered.readUInt32BE(5) & 0x7fffffff;
      const payload = this.buffered.subarray(9, 9 + length);
      this.buffered = this.buffered.subarray(9 + length);
      this.frame(type, flags, id, payload);
    }
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.block && type !== CONTINUATION) throw new ConnectionError(PROTOCOL_ERROR, 'a header block interrupted');
    switch (type) {
      case DATA:
        return this.data(flags, id, unpad(flags, payload));
      case HEADERS: {
        let body = unpad(flags, payload);
        if (flags & PRIORITY) body = body.subarray(5);
        this.block = { stream: id, flags, parts: [body] };
        if (flags & END_HEADERS) this.headerBlock();
        return;
      }
      case CONTINUATION:
        if (!this.block || this.block.stream !== id) throw new ConnectionError(PROTOCOL_ERROR, 'an unexpected CONTINUATION');
        this.block.parts.push(payload);
        if (flags & END_HEADERS) this.headerBlock();
        return;
      case RST_STREAM: {
        const stream = this.streams.get(id);
        if (stream) this.closeStream(stream, payload.readUInt32BE(0));
        return;
      }
      case SETTINGS:
        return this.settings(flags, payload);
      case PUSH_PROMISE:
        throw new ConnectionError(PROTOCOL_ERROR, 'a PUSH_PROMISE with push disabled');
      case PING:
        if (!(flags & ACK)) this.send(Buffer.concat([frameHeader(8, PING, ACK, 0), payload]));
        return;
      case GOAWAY: {
        this.goneAway = true;
        const last = payload.readUInt32BE(0) & 0x7fffffff;
        const code = payload.readUInt32BE(4);
        // Streams the server did not take are refused; with an error code, the rest end with it too.
        for (const stream of [...this.streams.values()]) if (stream.id > last || code !== NO_ERROR) this.closeStream(stream, stream.id > last ? REFUSED_STREAM : code);
        // Closing, as Node's session closes at a GOAWAY: no new stream here, the next call reconnects.
        this.closed = true;
        if (this.streams.size === 0) this.end();
        return;
      }
      case WINDOW_UPDATE: {
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) {
          this.sendWindow += increment;
          for (const stream of this.streams.values()) this.flush(stream);
        } else {
          const stream = this.streams.get(id);
          if (stream) {
            stream.sendWindow += increment;
            this.flush(stream);
          }
        }
        return;
      }
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  private settings(flags: number, payload: Buffer): void {
    if (flags & ACK) return;
    if (payload.length % 6 !== 0) throw new ConnectionError(FRAME_SIZE_ERROR, 'a SETTINGS frame of a wrong length');
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (key === 0x4) {
        if (value > MAX_WINDOW) throw new ConnectionError(FLOW_CONTROL_ERROR, 'an initial window over 2^31-1');
        for (const stream of this.streams.values()) stream.sendWindow += value - this.peerInitialWindow;
        this.peerInitialWindow = value;
      } else if (key === 0x5) {
        this.peerMaxFrame = value;
      }
    }
    this.send(frameHeader(0, SETTINGS, ACK, 0));
    for (const stream of this.streams.values()) this.flush(stream);
    if (!this.settled) {
      this.settled = true;
      this.emit('remoteSettings');
    }
  }

  private data(flags: number, id: number, body: Buffer): void {
    this.received += body.length;
    if (this.received >= REFILL_AT) {
      this.send(Buffer.concat([frameHeader(4, WINDOW_UPDATE, 0, 0), u32(this.received)]));
      this.received = 0;
    }
    const stream = this.streams.get(id);
    if (!stream) return; // a stream this side has reset: its data is dropped
    stream.received += body.length;
    if (stream.received >= REFILL_AT && !(flags & END_STREAM)) {
      this.send(Buffer.concat([frameHeader(4, WINDOW_UPDATE, 0, id), u32(stream.received)]));
      stream.received = 0;
    }
    if (body.length > 0) stream.emit('data', body);
    if (flags & END_STREAM) this.remoteEnd(stream);
  }

  private headerBlock(): void {
    const { stream: id, flags, parts } = this.block!;
    this.block = undefined;
    const fields = this.decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts)); // always, to keep the table in step
    const stream = this.streams.get(id);
    if (!stream || stream.closed) return;
    const headers: ResponseHeaders = {};
    for (const [name, value] of fields) {
      const had = headers[name];
      headers[name] = had === undefined ? value : name === 'set-cookie' ? [had, value].flat() : `${[had].flat().join(', ')}, ${value}`;
    }
    const status = Number(headers[':status']);
    if (stream.headersSeen === 0 && status >= 100 && status < 200) return; // an informational answer
    stream.headersSeen++;
    stream.emit(stream.headersSeen === 1 ? 'response' : 'trailers', headers);
    if (flags & END_STREAM) this.remoteEnd(stream);
  }

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    stream.emit('end');
    // The server has answered: whatever this side still had to send is dropped, as Node does.
    if (!stream.localEnded) return this.reset(stream, NO_ERROR);
    this.closeStream(stream, NO_ERROR);
  }
}

/** A frame's payload without its padding (PADDED flag: a length byte first, that many bytes last). */
function unpad(flags: number, payload: Buffer): Buffer {
  if (!(flags & PADDED)) return payload;
  const pad = payload[0] ?? 0;
  if (pad >= payload.length) throw new ConnectionError(PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}
