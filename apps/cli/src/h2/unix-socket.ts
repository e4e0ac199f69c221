import { EventEmitter } from 'node:events';
import { getSystemErrorName } from 'node:util';

/**
 * A client connection to a unix socket on libuv's pipe handle (Node's `pipe_wrap` and
 * `stream_wrap` bindings), without node:net: what h2/session.ts talks HTTP/2 over. node:net loads
 * node:stream and 20 more of Node's modules as it is imported, ~6.5 ms of every `ps`, `inspect`
 * and `rm` on this project's machines (`node -e 'require("net")'` against `node -e 0`, 40 rounds
 * paired; the bindings alone: 0.3 ms; bench/README.md, "ps, inspect, rm: no node:net, no
 * node:stream"). It does what net.Socket does for such a connection and no more: connect, write
 * (in order; corked writes go out in one system call), read until the peer's end, end (shutdown
 * after what was written), destroy; its events are net.Socket's ('connect', 'data', 'error',
 * 'close'), its errors net's (`connect ENOENT /run/berth/api.sock`, with code, errno, syscall and
 * address).
 *
 * The bindings are Node's internals, reached through `process.binding` (allowed for these two
 * without a warning in Node 20; DEP0111 is documentation-only for them): `connectUnix` checks
 * their shape and falls back to node:net when they are not what this code expects.
 */
export interface UnixSocket extends EventEmitter {
  write(data: Buffer): void;
  cork(): void;
  uncork(): void;
  /** Writes `data`, then shuts the writing side down; 'close' follows the peer's end. */
  end(data?: Buffer): void;
  destroy(): void;
}

interface StreamHandle {
  /** A function, always: Node's handle refuses anything else (an assertion that aborts the process). */
  onread: (arrayBuffer: ArrayBuffer) => void;
  connect(req: unknown, path: string): number;
  readStart(): number;
  writeBuffer(req: unknown, data: Buffer): number;
  writev(req: unknown, chunks: Buffer[], allBuffers: boolean): number;
  shutdown(req: unknown): number;
  close(callback?: () => void): void;
}

interface Bindings {
  Pipe: new (type: number) => StreamHandle;
  PipeConnectWrap: new () => { oncomplete?: (status: number) => void; address?: string };
  WriteWrap: new () => { handle?: StreamHandle; oncomplete?: (status: number) => void; chunks?: Buffer[] };
  ShutdownWrap: new () => { handle?: StreamHandle; oncomplete?: (status: number) => void };
  SOCKET: number;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  UV_EOF: number;
}

let bindings: Bindings | null | undefined;

/** The bindings when they have the shape this file uses (Node 20's), else null (node:net then). */
function loadBindings(): Bindings | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  try {
    const legacy = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const pipe = legacy('pipe_wrap') as { Pipe?: unknown; PipeConnectWrap?: unknown; constants?: { SOCKET?: unknown } };
    const stream = legacy('stream_wrap') as Record<string, unknown>;
    const uv = legacy('uv') as { UV_EOF?: unknown };
    const methods = ['connect', 'readStart', 'writeBuffer', 'writev', 'shutdown', 'close'];
    const proto = typeof pipe.Pipe === 'function' ? (pipe.Pipe as { prototype: Record<string, unknown> }).prototype : undefined;
    const fits =
      proto !== undefined &&
      methods.every((m) => typeof proto[m] === 'function') &&
      typeof pipe.PipeConnectWrap === 'function' &&
      typeof pipe.constants?.SOCKET === 'number' &&
      typeof stream.WriteWrap === 'function' &&
      typeof stream.ShutdownWrap === 'function' &&
      stream.streamBaseState instanceof Int32Array &&
      ['kReadBytesOrError', 'kArrayBufferOffset', 'kLastWriteWasAsync'].every((k) => typeof stream[k] === 'number') &&
      typeof uv.UV_EOF === 'number';
    if (fits) {
      bindings = {
        Pipe: pipe.Pipe as Bindings['Pipe'],
        PipeConnectWrap: pipe.PipeConnectWrap as Bindings['PipeConnectWrap'],
        WriteWrap: stream.WriteWrap as Bindings['WriteWrap'],
        ShutdownWrap: stream.ShutdownWrap as Bindings['ShutdownWrap'],
        SOCKET: pipe.constants!.SOCKET as number,
        state: stream.streamBaseState as Int32Array,
        kReadBytesOrError: stream.kReadBytesOrError as number,
        kArrayBufferOffset: stream.kArrayBufferOffset as number,
        kLastWriteWasAsync: stream.kLastWriteWasAsync as number,
        UV_EOF: uv.UV_EOF as number,
      };
    }
  } catch {
    // no such binding in this Node: node:net
  }
  return bindings;
}

/** A connection to the unix socket at `path`: on the pipe handle, or a net.Socket where the bindings differ. */
export function connectUnix(path: string, options: { net?: boolean } = {}): UnixSocket {
  const b = options.net ? null : loadBindings();
  if (b === null) return process.getBuiltinModule('node:net').connect(path) as unknown as UnixSocket;
  return new PipeSocket(b, path);
}

/** net's error for a failed system call on a socket: `connect ENOENT /path`, `write EPIPE`. */
function socketError(status: number, syscall: string, address?: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}${address === undefined ? '' : ` ${address}`}`);
  err.errno = status;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) (err as { address?: string }).address = address;
  return err;
}

const ignore = (): void => undefined;

class PipeSocket extends EventEmitter implements UnixSocket {
  private readonly handle: StreamHandle;
  private connected = false;
  private corked = 0;
  private queued: Buffer[] = []; // written before the connection or while corked
  private ending: Buffer | undefined; // end() before the connection: what to write, then shut down
  private closed = false;

  constructor(
    private readonly b: Bindings,
    private readonly path: string,
  ) {
    super();
    this.handle = new b.Pipe(b.SOCKET);
    const req = new b.PipeConnectWrap();
    req.address = path;
    req.oncomplete = (status) => this.afterConnect(status);
    const err = this.handle.connect(req, path);
    if (err !== 0) process.nextTick(() => this.fail(socketError(err, 'connect', path)));
  }

  write(data: Buffer): void {
    if (this.closed) return;
    if (!this.connected || this.corked > 0) this.queued.push(data);
    else this.send([data]);
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0) return;
    this.corked--;
    if (this.corked === 0 && this.connected) this.flush();
  }

  end(data?: Buffer): void {
    if (this.closed || this.ending !== undefined) return;
    this.ending = data ?? Buffer.alloc(0);
    if (this.connected) this.shutdown();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    this.handle.onread = ignore;
    this.handle.close(() => this.emit('close'));
  }

  private afterConnect(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.fail(socketError(status, 'connect', this.path));
      return;
    }
    this.connected = true;
    this.handle.onread = (arrayBuffer) => this.onRead(arrayBuffer);
    const err = this.handle.readStart();
    if (err !== 0) {
      this.fail(socketError(err, 'read'));
      return;
    }
    this.emit('connect');
    if (this.corked === 0) this.flush();
    if (this.ending !== undefined && !this.closed) this.shutdown();
  }

  private flush(): void {
    if (this.queued.length === 0) return;
    const chunks = this.queued;
    this.queued = [];
    this.send(chunks);
  }

  /** One write system call for `chunks` (libuv writes what it can now and the rest when the socket can take it). */
  private send(chunks: Buffer[]): void {
    if (this.closed) return;
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = (status) => {
      if (status < 0) this.fail(socketError(status, 'write'));
    };
    const err = chunks.length === 1 ? this.handle.writeBuffer(req, chunks[0]!) : this.handle.writev(req, chunks, true);
    if (err !== 0) {
      this.fail(socketError(err, 'write'));
      return;
    }
    // An asynchronous write's buffers stay referenced until libuv is done with them (as net does).
    if (this.b.state[this.b.kLastWriteWasAsync]) req.chunks = chunks;
  }

  private shutdown(): void {
    const last = this.ending!;
    this.corked = 0;
    if (last.length > 0) this.queued.push(last);
    this.flush();
    if (this.closed) return;
    const req = new this.b.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = () => undefined; // then the peer's end closes the connection (read below)
    const err = this.handle.shutdown(req);
    if (err !== 0) this.fail(socketError(err, 'shutdown'));
  }

  private onRead(arrayBuffer: ArrayBuffer): void {
    const nread = this.b.state[this.b.kReadBytesOrError]!;
    if (nread > 0) {
      // A view of libuv's buffer, as net hands it over: each read gets a buffer of its own.
      this.emit('data', Buffer.from(arrayBuffer, this.b.state[this.b.kArrayBufferOffset], nread));
      return;
    }
    if (nread === 0) return;
    if (nread === this.b.UV_EOF) this.destroy();
    else this.fail(socketError(nread, 'read'));
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.emit('error', err);
    this.destroy();
  }
}
