import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, createServer, Socket, type Server } from 'node:net';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUnix, type UnixSocket } from './unix-socket.js';

/**
 * unix-socket.ts's pipe handle against node:net's server, and its fallback (a net.Socket) through
 * the same cases: what h2/session.ts relies on (order of writes, corked writes, the peer's end,
 * errors worded as net words them).
 */

let dir: TempDir;
let server: Server;
let path: string;
/** What the server does with each connection (set per test). */
let onConnection: (socket: Socket) => void = () => undefined;

beforeAll(async () => {
  dir = tempDir('berth-unix-socket-');
  path = join(dir.path, 's.sock');
  server = createServer({ allowHalfOpen: true }, (socket) => onConnection(socket));
  server.listen(path);
  await once(server, 'listening');
});

afterAll(() => {
  server.close();
  dir?.remove();
});

/** Everything `socket` receives until it closes, and whether it ended with an error. */
function collect(socket: UnixSocket): Promise<{ data: Buffer; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: Error) => (error = err));
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), error }));
  });
}

/** The server side's whole input, once the client has ended its side. */
function received(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

describe('connectUnix', () => {
  it('is on the pipe handle, not a net.Socket, unless asked', async () => {
    let seen = 0;
    const both = new Promise<void>((resolve) => {
      onConnection = (s) => {
        s.destroy();
        if (++seen === 2) resolve();
      };
    });
    const pipe = connectUnix(path);
    const net = connectUnix(path, { net: true });
    expect(pipe).not.toBeInstanceOf(Socket);
    expect(net).toBeInstanceOf(Socket);
    await both; // both connected, before the next test's server side
    pipe.destroy();
    net.destroy();
  });

  for (const net of [false, true]) {
    describe(net ? 'on node:net' : 'on the pipe handle', () => {
      it('writes in order (before the connection, corked, large) and reads the answer until the peer ends', async () => {
        let input: Promise<Buffer> | undefined;
        onConnection = (s) => {
          input = received(s);
          void input.then((bytes) => s.end(Buffer.concat([Buffer.from('got '), Buffer.from(String(bytes.length))])));
        };
        const socket = connectUnix(path, { net });
        const result = collect(socket);
        const big = Buffer.alloc(4 * 1024 * 1024, 7); // more than a socket buffer: libuv finishes it later
        socket.write(Buffer.from('a')); // before 'connect': held until then
        await once(socket, 'connect');
        socket.cork();
        socket.write(Buffer.from('b'));
        socket.write(big);
        socket.uncork();
        socket.end(Buffer.from('c'));
        const { data, error } = await result;
        expect(error).toBeUndefined();
        const bytes = await input!;
        expect(bytes.length).toBe(big.length + 3);
        expect(bytes.subarray(0, 2).toString()).toBe('ab');
        expect(bytes.at(-1)).toBe('c'.charCodeAt(0));
        expect(bytes.subarray(2, -1).equals(big)).toBe(true);
        expect(data.toString()).toBe(`got ${big.length + 3}`);
      });

      it('closes once when destroyed, and when the peer closes', async () => {
        onConnection = (s) => s.end('bye');
        const closing = connectUnix(path, { net });
        const result = collect(closing);
        expect((await result).data.toString()).toBe('bye');

        onConnection = () => undefined;
        const destroyed = connectUnix(path, { net });
        await once(destroyed, 'connect');
        let closes = 0;
        destroyed.on('close', () => closes++);
        destroyed.destroy();
        destroyed.destroy();
        await once(destroyed, 'close');
        expect(closes).toBe(1);
      });

      it('fails as net fails: no such socket, and a file nobody listens on', async () => {
        const missing = join(dir.path, 'missing.sock');
        const a = await collect(connectUnix(missing, { net }));
        expect(a.error).toMatchObject({ message: `connect ENOENT ${missing}`, code: 'ENOENT', syscall: 'connect', address: missing });
        const file = join(dir.path, 'file');
        writeFileSync(file, '');
        const b = await collect(connectUnix(file, { net }));
        expect(b.error).toMatchObject({ message: `connect ECONNREFUSED ${file}`, code: 'ECONNREFUSED', syscall: 'connect' });
      });
    });
  }

  it('words its errors as node:net does', async () => {
    const missing = join(dir.path, 'nope.sock');
    const viaNet = await new Promise<Error>((resolve) => connect(missing).on('error', resolve));
    const viaPipe = (await collect(connectUnix(missing))).error!;
    expect(viaPipe.message).toBe(viaNet.message);
    expect((viaPipe as NodeJS.ErrnoException).errno).toBe((viaNet as NodeJS.ErrnoException).errno);
  });
});
