import { once } from 'node:events';
import { constants, createServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@berth/testing';
import { UnaryTransport, type UnaryMethod } from '../unary-transport.js';

/**
 * h2/session.ts against Node's HTTP/2 server (nghttp2: Huffman-coded, indexed response headers) for
 * what grpc-js servers seldom send: a PING to acknowledge, a GOAWAY, RST_STREAM codes, a non-200
 * status, a header block split over CONTINUATION frames. The gRPC behaviours themselves are
 * unary-transport.test.ts's, against grpc-js servers.
 */

const raw: UnaryMethod<Buffer, Buffer> = { path: '/t/Call', requestStream: false, responseStream: false, requestSerialize: (b) => b, responseDeserialize: (b) => b };
const frame = (text: string) => Buffer.concat([Buffer.from([0, 0, 0, 0, text.length]), Buffer.from(text)]);

let dir: TempDir;
let server: Http2Server;
let socket: string;
let handler: (stream: ServerHttp2Stream, session: ServerHttp2Session) => void = () => undefined;
const sessions: ServerHttp2Session[] = [];

beforeAll(async () => {
  dir = tempDir('berth-h2-session-');
  socket = join(dir.path, 's.sock');
  server = createServer();
  server.on('session', (s) => sessions.push(s));
  server.on('stream', (stream) => {
    stream.on('error', () => undefined); // a stream the test resets
    handler(stream, stream.session as ServerHttp2Session);
  });
  server.listen(socket);
  await once(server, 'listening');
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  server.close();
  dir?.remove();
});

function ok(stream: ServerHttp2Stream, text: string, extra: Record<string, string> = {}): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extra }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frame(text));
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: Error) => err.message);

/** Runs `test` with a transport to the server, closed afterwards; `call` sends one request and gives the answer's text. */
async function withTransport(test: (call: () => Promise<string>) => Promise<void>): Promise<void> {
  const t = new UnaryTransport({ address: `unix:${socket}` });
  try {
    await test(async () => (await t.call(raw, Buffer.from('q'))).toString());
  } finally {
    t.close();
  }
}

describe('h2/session.ts against node:http2', () => {
  it('decodes indexed, Huffman-coded headers across calls and a header block split into CONTINUATIONs', () =>
    withTransport(async (call) => {
      handler = (stream) => ok(stream, 'a', { 'x-repeated': 'same value every time', 'x-big': 'v'.repeat(40_000) });
      for (let i = 0; i < 3; i++) expect(await call()).toBe('a');
    }));

  it('acknowledges a PING, and maps RST_STREAM codes and a non-200 status as grpc-js does', () =>
    withTransport(async (call) => {
      handler = (stream, session) => {
        session.ping(Buffer.from('12345678'), (err, _duration, payload) => {
          if (err || payload.toString() !== '12345678') return stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          ok(stream, 'pong');
        });
      };
      expect(await call()).toBe('pong');
      handler = (stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM);
      expect(await failure(call())).toBe('Stream refused by server');
      handler = (stream) => stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      expect(await failure(call())).toBe('Bandwidth exhausted or memory limit exceeded');
      handler = (stream) => {
        stream.respond({ ':status': 503 });
        stream.end();
      };
      expect(await failure(call())).toBe('Received HTTP status code 503');
    }));

  it('after a GOAWAY, finishes the calls the server took and reconnects for the next', () =>
    withTransport(async (call) => {
      handler = (stream, session) => {
        session.goaway(constants.NGHTTP2_NO_ERROR, stream.id);
        setTimeout(() => ok(stream, 'last'), 20);
      };
      expect(await call()).toBe('last');
      const before = sessions.length;
      handler = (stream) => ok(stream, 'again');
      expect(await call()).toBe('again');
      expect(sessions.length).toBe(before + 1);
    }));
});
