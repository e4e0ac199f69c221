import { packDirectory } from '@berth/layers';
import type { WorkerImage } from '@berth/worker';
import type { BuildOutputType } from '../build-request.js';
import type { BuildRun } from '../solver/build-run.js';
import { mountView } from '../solver/snapshots.js';
import type { StageState } from '../solver/stage-state.js';

/**
 * `--output`: streams the image as an OCI layout tar (`oci`, the host's `save`), or its flattened
 * root filesystem as a tar (`tar`, `local`: the client writes the file or unpacks it), packed here
 * from a read-only view of the image's layers.
 */
export async function exportOutput(
  run: BuildRun,
  result: { state: StageState; image: WorkerImage },
  type: BuildOutputType,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const vertex = run.progress.vertex(type === 'oci' ? 'exporting to oci image format' : type === 'tar' ? 'exporting to client tarball' : 'exporting to client directory');
  let sent = 0;
  const send = async (stream: AsyncIterable<Uint8Array>) => {
    for await (const chunk of stream) {
      sent += chunk.length;
      await write(chunk);
    }
  };
  try {
    if (type === 'oci') {
      const tags = result.image.names.filter((n) => !n.includes('@'));
      await send(run.worker.images.save(tags.length > 0 ? tags : [result.image.id]));
    } else {
      const { state } = result;
      const view = await mountView(run, state.config.rootfs.diff_ids, state.layers);
      try {
        await send(packDirectory(view.path).stream);
      } finally {
        await view.release();
      }
    }
  } catch (err) {
    vertex.error(err instanceof Error ? err.message : String(err));
    throw err;
  }
  vertex.status(`sending tarball ${sent}B done`);
  vertex.done();
}
