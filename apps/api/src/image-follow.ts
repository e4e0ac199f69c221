import * as grpc from '@grpc/grpc-js';
import { errorKindOf } from '@berth/errors';
import { ImagesService, type AgentAnnouncement, type DataChunk, type LoadImagesResponse } from '@berth/proto';
import type { Logger } from '@berth/log';
import { hostError, type ClusterRouter } from './cluster-router.js';

/** A whole image move may take this long (save on one host, load on the other). */
const TRANSFER_TIMEOUT_MS = 10 * 60_000;

/**
 * Images follow containers: before a container is created on `target`, its image is brought there
 * from a host that has it when `target` lacks it, by streaming the source agent's `Save` (a docker
 * save tar) into the target agent's `Load`; the target's content store keeps blobs it already has,
 * so only missing layers are written (they all cross the wire, though: TODO(#14) push/pull through
 * the cluster registry to move only missing layers). When no live host has it, nothing happens:
 * the target's create then pulls or says "No such image" itself.
 * @returns the host it came from, if it moved.
 */
export async function bringImage(router: ClusterRouter, target: AgentAnnouncement, image: string, log: Logger): Promise<AgentAnnouncement | undefined> {
  if (image === '') return undefined;
  try {
    await router.call(target, ImagesService.inspect, { ref: image });
    return undefined;
  } catch (err) {
    if (errorKindOf(err) !== 'not-found') throw err;
  }
  const others = (await router.live()).filter((h) => h.hostId !== target.hostId);
  const source = (await router.fanOut(ImagesService.inspect, { ref: image }, { hosts: others })).find((a) => a.error === undefined)?.host;
  if (source === undefined) return undefined;
  const started = Date.now();
  await transfer(router, source, target, image);
  log.info({ image, from: source.hostname, to: target.hostname, ms: Date.now() - started }, 'Moved an image to the host a container was placed on');
  return source;
}

function transfer(router: ClusterRouter, source: AgentAnnouncement, target: AgentAnnouncement, image: string): Promise<LoadImagesResponse> {
  const deadline = Date.now() + TRANSFER_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const save = ImagesService.save;
    const load = ImagesService.load;
    const upload = router
      .client(target.address)
      .makeClientStreamRequest(load.path, load.requestSerialize, load.responseDeserialize, new grpc.Metadata(), { deadline }, (err, res) =>
        err ? reject(hostError(target, err)) : resolve(res as LoadImagesResponse),
      );
    const download = router
      .client(source.address)
      .makeServerStreamRequest(save.path, save.requestSerialize, save.responseDeserialize, { refs: [image] }, new grpc.Metadata(), { deadline });
    download.on('data', (chunk: DataChunk) => {
      if (!upload.write(chunk)) {
        download.pause();
        upload.once('drain', () => download.resume());
      }
    });
    download.on('end', () => upload.end());
    download.on('error', (err: grpc.ServiceError) => {
      upload.cancel();
      reject(hostError(source, err));
    });
  });
}
