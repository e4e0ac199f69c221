import type * as grpc from '@grpc/grpc-js';
import { errorKindOf } from '@berth/errors';
import {
  ImagesService,
  NetworksService,
  VolumesService,
  forwardService,
  handleUnary,
  type CommitRequest,
  type ImageSummary,
  type ListImagesResponse,
  type ListNetworksResponse,
  type ListVolumesResponse,
  type NetworkSummary,
  type PruneImagesResponse,
  type PruneNetworksResponse,
  type PruneVolumesResponse,
  type RemoveImageResponse,
  type Volume,
} from '@berth/proto';
import { ContainersService } from '@berth/proto';
import { answered, type ClusterRouter } from './cluster-router.js';
import { isOverlayCreate, type OverlayNetworkKeeper } from './overlay-networks.js';

type UnaryDefinition = grpc.MethodDefinition<any, any>;
type Call = { request?: unknown; metadata: grpc.Metadata };

/**
 * Images, volumes and networks over the cluster. Each host keeps its own (an image is stored where
 * containers need it, image-follow.ts), so:
 *   list, prune                  fan out to every live host and merge (images by id, volumes and
 *                                networks by name: one row per object whatever the number of copies)
 *   inspect, tag, push, save, …  go to the first host that has the object
 *   image rm, volume rm, network rm   go to every host that has it
 *   volume / network create      go to every live host, so a container finds it wherever it is placed
 *                                (a bridge network's copies are local; an overlay network is one
 *                                network with one id, subnet and VNI everywhere: overlay-networks.ts)
 *   pull, load, import, bootstrap, login, search: the pinned node, else the default host
 *   commit, network connect/disconnect: the host of the container
 */
export function clusterImagesService(router: ClusterRouter): grpc.UntypedServiceImplementation {
  const byImage = (field: string) => async (_m: string, call: Call) => router.client((await firstHolder(router, ImagesService.inspect, { ref: str(call.request, field) }, call)).address);
  const pick = async (method: string, call: Call) => {
    if (method === 'commit') return router.client((await containerHost(router, (call.request as CommitRequest).container, call)).address);
    if (['inspect', 'history'].includes(method)) return byImage('ref')(method, call);
    // An image no host has: the default host answers as docker does ("The push refers to
    // repository [...]", then "An image does not exist locally with the tag").
    if (method === 'push') {
      return byImage('ref')(method, call).catch(async (err: unknown) => {
        if (errorKindOf(err) !== 'not-found') throw err;
        return router.client((await router.defaultHost(call.metadata)).address);
      });
    }
    if (method === 'tag') return byImage('source')(method, call);
    if (method === 'save') return router.client((await firstHolder(router, ImagesService.inspect, { ref: (call.request as { refs: string[] }).refs[0] ?? '' }, call)).address);
    return router.client((await router.defaultHost(call.metadata)).address);
  };
  return {
    ...forwardService(ImagesService, pick),
    list: handleUnary(async (request) => {
      const answers = await router.fanOut<ListImagesResponse>(ImagesService.list, request);
      return { images: unique(answered(answers).flatMap((r) => r.images), (i: ImageSummary) => i.id) };
    }),
    remove: handleUnary(async (request: { ref: string }, call) => {
      const answers = await onEveryHolder<RemoveImageResponse>(router, call, { inspect: [ImagesService.inspect, { ref: request.ref }], method: ImagesService.remove, request });
      return { items: unique(answers.flatMap((a) => a.items), (i) => JSON.stringify(i)) };
    }),
    prune: handleUnary(async (request) => {
      const results = answered(await router.fanOut<PruneImagesResponse>(ImagesService.prune, request, { timeoutMs: 120_000 }));
      return { deleted: results.flatMap((r) => r.deleted), spaceReclaimed: results.reduce((n, r) => n + r.spaceReclaimed, 0) };
    }),
  } as grpc.UntypedServiceImplementation;
}

export function clusterVolumesService(router: ClusterRouter): grpc.UntypedServiceImplementation {
  const pick = async (_m: string, call: Call) => router.client((await firstHolder(router, VolumesService.inspect, { name: str(call.request, 'name') }, call)).address);
  return {
    ...forwardService(VolumesService, pick),
    create: handleUnary(async (request, call) => everywhere<Volume>(router, VolumesService.create, request, call)),
    list: handleUnary(async (request) => {
      const results = answered(await router.fanOut<ListVolumesResponse>(VolumesService.list, request));
      return { volumes: unique(results.flatMap((r) => r.volumes), (v) => v.name), warnings: results.flatMap((r) => r.warnings) };
    }),
    remove: handleUnary(async (request: { name: string }, call) => {
      await onEveryHolder(router, call, { inspect: [VolumesService.inspect, { name: request.name }], method: VolumesService.remove, request });
      return {};
    }),
    prune: handleUnary(async (request) => {
      const results = answered(await router.fanOut<PruneVolumesResponse>(VolumesService.prune, request, { timeoutMs: 120_000 }));
      return { deleted: [...new Set(results.flatMap((r) => r.deleted))], spaceReclaimed: results.reduce((n, r) => n + r.spaceReclaimed, 0) };
    }),
  } as grpc.UntypedServiceImplementation;
}

export function clusterNetworksService(router: ClusterRouter, overlay?: OverlayNetworkKeeper): grpc.UntypedServiceImplementation {
  const pick = async (method: string, call: Call) => {
    if (method === 'connect' || method === 'disconnect') return router.client((await containerHost(router, str(call.request, 'container'), call)).address);
    return router.client((await firstHolder(router, NetworksService.inspect, { id: str(call.request, 'id') }, call)).address);
  };
  return {
    ...forwardService(NetworksService, pick),
    // An overlay network: one id, subnet and VNI for every host (overlay-networks.ts).
    create: handleUnary(async (request, call) => (overlay && isOverlayCreate(request) ? overlay.create(request) : everywhere(router, NetworksService.create, request, call))),
    list: handleUnary(async (request) => {
      const results = answered(await router.fanOut<ListNetworksResponse>(NetworksService.list, request));
      return { networks: unique(results.flatMap((r) => r.networks), (n: NetworkSummary) => n.name) };
    }),
    remove: handleUnary(async (request: { id: string }, call) => {
      const holders = await router.locate(NetworksService.inspect, { id: request.id }, call.metadata);
      // An overlay network is one network: refused while a container on any host uses it, before
      // any host removes its part.
      await overlay?.checkUnused(holders);
      await Promise.all(holders.map((h) => router.call(h.host, NetworksService.remove, request, { timeoutMs: 60_000 })));
      await overlay?.forget(request.id);
      return {};
    }),
    prune: handleUnary(async (request) => {
      const results = answered(await router.fanOut<PruneNetworksResponse>(NetworksService.prune, request, { timeoutMs: 60_000 }));
      const deleted = [...new Set(results.flatMap((r) => r.deleted))];
      if (overlay && deleted.length > 0) await overlay.forgetGone();
      return { deleted };
    }),
  } as grpc.UntypedServiceImplementation;
}

/**
 * Calls `method` with `request` on every host where the object `inspect` asks for is found (a
 * remove of an image, volume or network that several hosts hold). @returns their answers.
 */
async function onEveryHolder<T>(router: ClusterRouter, call: Call, options: { inspect: [UnaryDefinition, unknown]; method: UnaryDefinition; request: unknown }): Promise<T[]> {
  const holders = await router.locate(options.inspect[0], options.inspect[1], call.metadata);
  return Promise.all(holders.map((h) => router.call<T>(h.host, options.method, options.request, { timeoutMs: 60_000 })));
}

async function firstHolder(router: ClusterRouter, inspect: UnaryDefinition, request: unknown, call: Call) {
  return (await router.locate(inspect, request, call.metadata))[0]!.host;
}

function containerHost(router: ClusterRouter, ref: string, call: Call) {
  return firstHolder(router, ContainersService.inspect, { id: ref }, call);
}

/**
 * A create on every live host (the pinned one only, when pinned): the first host's answer. It fails
 * only when it fails everywhere (the object exists on every host: the agents' own conflict).
 */
async function everywhere<T>(router: ClusterRouter, method: UnaryDefinition, request: unknown, call: Call): Promise<T> {
  const pinned = await router.pinned(call.metadata);
  const answers = await router.fanOut<T>(method, request, { timeoutMs: 60_000, ...(pinned ? { hosts: [pinned] } : {}) });
  const done = answers.find((a) => a.error === undefined);
  if (done) return done.result!;
  throw answers[0]?.error ?? new Error('no runtime agent is running');
}

function unique<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(key(i)) && (seen.add(key(i)), true));
}

function str(request: unknown, field: string): string {
  const v = (request as Record<string, unknown> | undefined)?.[field];
  return typeof v === 'string' ? v : '';
}
