import type { FastifyReply } from 'fastify';
import { messageOf } from '@berth/errors';
import { versionHeaders } from './api-version.js';

/**
 * Answers with a stream the handler writes itself (events, pull and build progress, wait, logs):
 * the headers go out at once (docker's client returns from `wait` or `events` on them), chunks
 * follow with backpressure, and `signal` aborts when the client goes away.
 */
export interface StreamReply {
  write(chunk: Buffer | string): Promise<void>;
  end(chunk?: Buffer | string): void;
  signal: AbortSignal;
}

export function streamReply(reply: FastifyReply, contentType: string): StreamReply {
  reply.hijack();
  const res = reply.raw;
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  res.writeHead(200, { ...versionHeaders(), 'Content-Type': contentType });
  res.flushHeaders();
  return {
    signal: controller.signal,
    write: async (chunk) => {
      if (res.destroyed || res.writableEnded) return;
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    },
    end: (chunk) => {
      if (!res.destroyed && !res.writableEnded) res.end(chunk);
    },
  };
}

/**
 * Docker's JSON-lines progress (pull, push, build, load): each message a JSON object on its own
 * line; a failure after the headers went out is the last message, `{"errorDetail": {"message"},
 * "error"}`, which the CLI prints and exits 1 on.
 */
export async function jsonProgress(reply: FastifyReply, messages: AsyncIterable<object>): Promise<void> {
  const out = streamReply(reply, 'application/json');
  try {
    for await (const m of messages) {
      if (out.signal.aborted) break;
      await out.write(`${JSON.stringify(m)}\r\n`);
    }
  } catch (err) {
    const message = messageOf(err);
    await out.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  }
  out.end();
}
