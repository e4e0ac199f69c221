import { InvalidArgumentError } from '@berth/errors';
import { type ContentChunk, type ContentInfo, type ContentServer, handleClientStream, handleServerStream, handleUnary, type IngestChunk } from '@berth/proto';
import type { WorkerContent } from '@berth/worker';

/** The Content gRPC service: thin handlers over the host's content store (through its build worker). */
export function contentService(content: WorkerContent): ContentServer {
  return {
    info: handleUnary(async ({ digest }) => content.info(digest)),
    read: handleServerStream(async function* ({ digest }): AsyncGenerator<ContentChunk> {
      await content.info(digest); // NOT_FOUND before the stream starts
      for await (const data of content.createReadStream(digest)) yield { data: data as Buffer };
    }),
    ingest: handleClientStream<IngestChunk, ContentInfo>(async (messages, call) => {
      // A cancelled call must fail the write (not end it early): nothing half-sent is stored.
      call.on('cancelled', () => call.destroy(new InvalidArgumentError('The ingest was cancelled by the client')));
      const iterator = messages[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.part?.$case !== 'options') throw new InvalidArgumentError('Ingest must begin with its options');
      const options = first.value.part.value;
      const data = (async function* () {
        for (let m = await iterator.next(); !m.done; m = await iterator.next()) {
          if (m.value.part?.$case === 'data') yield m.value.part.value;
        }
      })();
      return content.ingest(data, {
        ...(options.expected ? { expected: options.expected } : {}),
        ...(options.size >= 0 ? { size: options.size } : {}),
        ...(options.lease ? { lease: options.lease } : {}),
      });
    }),
  };
}
