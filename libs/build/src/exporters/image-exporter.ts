import { InvalidArgumentError } from '@berth/errors';
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
 */
export async function exportImage(run: BuildRun, state: StageState, request: BuildRequest): Promise<WorkerImage> {
  const config = structuredClone(state.config);
  if (request.labels && Object.keys(request.labels).length > 0) {
    config.config = { ...(config.config ?? {}), Labels: { ...(config.config?.Labels ?? {}), ...request.labels } };
  }
  config.created = state.created;
  const configBlob = await run.worker.content.ingest(Buffer.from(JSON.stringify(config)), { lease: run.lease });
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size },
    layers: state.layers.map(ociLayer),
  };
  return run.worker.images.register(Buffer.from(JSON.stringify(manifest)), { names: request.tags ?? [], layerSizes: state.layerSizes });
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
