import { parseReference } from '@berth/oci';
import { authFor, type BuildRun } from '../solver/build-run.js';
import { followTransfer } from '../solver/transfer-progress.js';

/** `--push`: pushes `tag` through the host's registry transfer, its messages as a vertex. */
export async function pushTag(run: BuildRun, tag: string): Promise<void> {
  const ref = parseReference(tag);
  const events = run.worker.images.push(ref.toString(), authFor(run, ref.domain));
  await followTransfer(run.progress.vertex(`pushing ${ref.toString()}`), events);
}
