import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { UnavailableError } from '@berth/errors';

/**
 * One HTTP exchange over node:http(s), bodies streamed both ways: the request body is piped from a
 * Readable (never buffered), the response body is handed back unread. This is the only file that
 * touches sockets; everything above it speaks `HttpRequest` / `HttpResponse`.
 */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string | number>;
  body?: Buffer | Readable;
  /** Keep-alive agent to use (an https.Agent for https: URLs carries the TLS settings). */
  agent?: http.Agent;
  /** Abort when the socket is idle this long, before or during the response body. Default 60 s. */
  idleTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The unread body: read it, or call `discard()`. */
  body: IncomingMessage;
  url: URL;
}

/**
 * Sends a request and resolves with the response head. A connection failure (refused, reset, TLS,
 * timeout before the head) rejects with UnavailableError whose `cause` is the socket error; errors
 * after the head surface on `response.body`.
 */
export function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  const { url } = request;
  const lib = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string | number> = { ...request.headers };
  if (Buffer.isBuffer(request.body)) headers['content-length'] = request.body.length;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: request.method, headers, agent: request.agent });
    let answered = false;
    const idle = request.idleTimeoutMs ?? 60_000;
    req.setTimeout(idle, () => {
      req.destroy(Object.assign(new Error(`no data for ${idle} ms`), { code: 'ETIMEDOUT' }));
    });
    req.once('error', (err) => {
      if (answered) return; // reported through the response body
      reject(
        new UnavailableError(`Cannot reach registry at ${url.origin}: ${err.message}`, {
          cause: err,
          code: 'REGISTRY_UNREACHABLE',
          detail: { url: url.toString() },
        }),
      );
    });
    req.once('response', (res) => {
      answered = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    const body = request.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.once('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

/** Reads a whole (small) body; more than `limit` bytes rejects with UnavailableError. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new UnavailableError(`Response from ${res.url.toString()} is larger than ${limit} bytes`, { code: 'RESPONSE_TOO_LARGE' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Throws the body away so that the connection can be reused (or closes it if it is large). */
export function discard(res: HttpResponse): void {
  const length = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(length) && length <= 64 * 1024) res.body.resume();
  else res.body.destroy();
}

/** The value of a header that may be repeated (`www-authenticate`), as one list. */
export function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const v = headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
