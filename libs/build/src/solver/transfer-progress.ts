import type { TransferEvent } from '@berth/worker';
import type { Vertex } from '../progress.js';

/** Transfer messages repeated for every chunk: left out of the build's progress. */
const QUIET_TRANSFER_STATUSES = new Set(['Downloading', 'Extracting', 'Pushing', 'Waiting', 'Verifying Checksum']);

/** Shows a pull's or push's messages as the vertex's status lines; the vertex ends with it. */
export async function followTransfer(vertex: Vertex, events: AsyncIterable<TransferEvent>): Promise<void> {
  try {
    for await (const e of events) {
      if (QUIET_TRANSFER_STATUSES.has(e.status)) continue;
      vertex.status(e.id ? `${e.id}: ${e.status}` : e.status);
    }
  } catch (err) {
    vertex.error(err instanceof Error ? err.message : String(err));
    throw err;
  }
  vertex.done();
}
