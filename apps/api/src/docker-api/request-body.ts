import type { IncomingMessage } from 'node:http';

/**
 * Writes a request's raw body (a tar: build context, load, archive, import) into a gRPC client
 * stream, message by message, honouring the stream's backpressure; `wrap` makes each message.
 */
export async function pumpBody<M>(
  req: IncomingMessage,
  call: { write(m: M): boolean; once(event: 'drain', fn: () => void): unknown; end(): void },
  wrap: (chunk: Buffer) => M,
): Promise<void> {
  for await (const chunk of req as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i += 1 << 20) {
      if (!call.write(wrap(chunk.subarray(i, i + (1 << 20))))) await new Promise<void>((r) => call.once('drain', r));
    }
  }
  call.end();
}
