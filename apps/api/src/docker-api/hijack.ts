import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { versionHeaders } from './api-version.js';

/**
 * A connection taken over for a raw stream (attach, exec start): docker's hijack. With
 * `Connection: Upgrade` / `Upgrade: tcp` the answer is `101 UPGRADED` and the socket then carries
 * stdin one way and the output the other, the client half-closing its side at the end of stdin;
 * without it, `200 OK` and the output until the connection closes.
 */
export interface Hijacked {
  socket: Duplex;
  /** Bytes of the stream the client sent already (after the request's body). */
  head: Buffer;
  upgraded: boolean;
}

export function wantsUpgrade(req: IncomingMessage): boolean {
  return /upgrade/i.test(req.headers.connection ?? '') && (req.headers.upgrade ?? '').toLowerCase() === 'tcp';
}

export function writeHijackHead(h: Hijacked, contentType: string): void {
  const lines = h.upgraded
    ? ['HTTP/1.1 101 UPGRADED', `Content-Type: ${contentType}`, 'Connection: Upgrade', 'Upgrade: tcp']
    : ['HTTP/1.1 200 OK', `Content-Type: ${contentType}`, 'Connection: close'];
  for (const [k, v] of Object.entries(versionHeaders())) lines.push(`${k}: ${v}`);
  h.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}

/** An error before the stream began, as an ordinary HTTP answer; the connection is closed after. */
export function writeHijackError(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  const lines = [`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : status === 400 ? 'Bad Request' : 'Error'}`];
  lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close');
  for (const [k, v] of Object.entries(versionHeaders())) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Reads the body of an upgrade request (its Content-Length bytes; Node's parser stops at the
 * headers of such a request), returning it and what followed it.
 */
export function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  return new Promise((resolve, reject) => {
    let got = head;
    const check = () => {
      if (got.length < length) return false;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.off('end', onEnd);
      socket.pause();
      resolve({ body: got.subarray(0, length), rest: got.subarray(length) });
      return true;
    };
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      check();
    };
    const onEnd = () => reject(new Error('connection closed before the request body was read'));
    if (check()) return;
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', onEnd);
  });
}
