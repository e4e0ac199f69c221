import { createHash } from 'node:crypto';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { type Descriptor, type ImageManifest, layerCompression, MediaType, ociLayerType } from '@berth/oci';
import type { WorkerImage } from '@berth/worker';
import type { BuildRequest } from '../build-request.js';
import type { BuildRun } from '../solver/build-run.js';
import type { StageState } from '../solver/stage-state.js';

/**
 * The image exporter: the final stage's config (with `--label`s and the time of its newest
 * layer) and an OCI manifest go into the host's content store under the build's lease, then the
 * image is registered with the tags: only then does it exist on the host (runnable at once). A
 * build that dies before leaves no image, and the lease's end takes the blobs.
 *
 * `tagged`: the id of the image the first tag named when the build began. A rebuild that made that
 * very image (a fully cached one) does not send its config again — the image keeps the blob in
 * the store — unless the image went meanwhile and the registration finds the blob missing.
 */
export async function exportImage(run: BuildRun, state: StageState, request: BuildRequest, tagged?: Promise<string | undefined>): Promise<WorkerImage> {
  const config = structuredClone(state.config);
  if (request.labels && Object.keys(request.labels).length > 0) {
    config.config = { ...(config.config ?? {}), Labels: { ...(config.config?.Labels ?? {}), ...request.labels } };
  }
  config.created = state.created;
  const bytes = Buffer.from(JSON.stringify(config));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest, size: bytes.length },
    layers: state.layers.map(ociLayer),
  };
  const ingest = () => run.worker.content.ingest(bytes, { lease: run.lease });
  const register = () => run.worker.images.register(Buffer.from(JSON.stringify(manifest)), { names: request.tags ?? [], layerSizes: state.layerSizes });
  if ((await tagged) === digest) {
    try {
      return await register();
    } catch (err) {
      if (!(err instanceof FailedPreconditionError)) throw err; // the image (and its config) went meanwhile
    }
  }
  await ingest();
  return register();
}

/** A layer descriptor with its Docker media type turned into the OCI one. */
function ociLayer(layer: Descriptor): Descriptor {
  if (layer.mediaType === MediaType.DockerForeignLayerGzip) {
    throw new InvalidArgumentError(`Foreign layers ("${layer.mediaType}") are not supported`);
  }
  const compression = layerCompression(layer.mediaType);
  const docker = layer.mediaType.startsWith('application/vnd.docker.');
  return { ...layer, mediaType: docker && compression ? ociLayerType(compression) : layer.mediaType };
}
