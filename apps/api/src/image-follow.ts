import * as grpc from '@grpc/grpc-js';
import { errorKindOf } from '@berth/errors';
import { ImagesService, PullImageRequest, PushImageRequest, type AgentAnnouncement, type DataChunk, type JsonDocument, type LoadImagesResponse } from '@berth/proto';
import type { Logger } from '@berth/log';
import { hostError, type ClusterRouter } from './cluster-router.js';

/** A whole image move may take this long (save on one host, load on the other). */
const TRANSFER_TIMEOUT_MS = 10 * 60_000;

/** A server-streaming method's definition (Push, Pull). */
interface StreamDefinition<Req> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (value: Buffer) => unknown;
}

/**
 * Images follow containers: before a container is created on `target`, its image is brought there
 * from a host that has it when `target` lacks it. First through the cluster's registry (the
 * platform's own, which every agent reaches with the platform's credentials): the source pushes the
 * image under a name of its own (berth.localhost/berth-cluster/image:<image id>), so only layers the
 * registry lacks are uploaded, and the target pulls it, so only layers it lacks are downloaded, then
 * names it as the container asked and drops the transfer name on both sides. When that fails (an
 * agent without the platform registry, the registry down), by streaming the source agent's `Save`
 * (a docker save tar) into the target agent's `Load` (every layer crosses the wire; the target
 * writes only those it lacks). When no live host has it, nothing happens: the target's create then
 * pulls or says "No such image" itself.
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
  let via = 'registry';
  try {
    await throughRegistry(router, { source, target, image });
  } catch (err) {
    log.warn({ image, from: source.hostname, to: target.hostname, err }, 'Cannot move an image through the cluster registry; sending it whole');
    via = 'save/load';
    await transfer(router, source, target, image);
  }
  log.info({ image, from: source.hostname, to: target.hostname, via, ms: Date.now() - started }, 'Moved an image to the host a container was placed on');
  return source;
}

const TRANSFER_REPOSITORY = 'berth.localhost/berth-cluster/image';

/** Push from `source`, pull on `target`, under a transfer name; then the name asked for on `target`. */
async function throughRegistry(router: ClusterRouter, o: { source: AgentAnnouncement; target: AgentAnnouncement; image: string }): Promise<void> {
  const { source, target, image } = o;
  const inspected = JSON.parse((await router.call<JsonDocument>(source, ImagesService.inspect, { ref: image })).json) as { Id: string };
  const name = `${TRANSFER_REPOSITORY}:${inspected.Id.replace(/^sha256:/, '')}`;
  const untag = (host: AgentAnnouncement) =>
    router.call(host, ImagesService.remove, { ref: name, force: false, noPrune: true }).catch(() => undefined); // a transfer name left behind is harmless; the move's outcome is what matters
  await router.call(source, ImagesService.tag, { source: inspected.Id, target: name });
  try {
    await drain(router, source, ImagesService.push, PushImageRequest.fromPartial({ ref: name }));
  } finally {
    await untag(source);
  }
  await drain(router, target, ImagesService.pull, PullImageRequest.fromPartial({ ref: name }));
  try {
    // An id (or id prefix) resolves on the target as it is; a name must be given back.
    if (!/^(sha256:)?[0-9a-f]{6,64}$/.test(image)) await router.call(target, ImagesService.tag, { source: inspected.Id, target: image });
  } finally {
    await untag(target);
  }
}

/** Runs a server-streaming call on `host` to its end (its messages are progress only). */
function drain<Req>(router: ClusterRouter, host: AgentAnnouncement, method: StreamDefinition<Req>, request: Req): Promise<void> {
  const deadline = Date.now() + TRANSFER_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const call = router.client(host.address).makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request, new grpc.Metadata(), { deadline });
    call.on('data', () => undefined);
    call.on('end', () => resolve());
    call.on('error', (err: grpc.ServiceError) => reject(hostError(host, err)));
  });
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
