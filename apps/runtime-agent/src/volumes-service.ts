import type { VolumeStore, Volume as DomainVolume } from '@berth/volumes';
import { handleUnary, type Volume, type VolumesServer } from '@berth/proto';
import { filtersToMap } from './convert.js';

/**
 * The Volumes gRPC service of the agent: each handler calls one VolumeStore method and maps the
 * answer. Errors keep their class (and so their gRPC code) and message.
 */
export function volumesService(store: VolumeStore): VolumesServer {
  return {
    create: handleUnary(async (req) =>
      volumeToProto(await store.create(req.name || undefined, { driver: req.driver, labels: req.labels, driverOpts: req.driverOpts })),
    ),
    list: handleUnary(async (req) => ({ volumes: store.list({ filters: filtersToMap(req.filters) }).map(volumeToProto), warnings: [] })),
    inspect: handleUnary(async ({ name }) => ({ json: JSON.stringify(store.inspect(name)) })),
    remove: handleUnary(async ({ name, force }) => (await store.remove(name, { force }), {})),
    prune: handleUnary(async (req) => store.prune({ all: req.all, filters: filtersToMap(req.filters) })),
  };
}

export function volumeToProto(v: DomainVolume): Volume {
  return {
    name: v.Name,
    driver: v.Driver,
    mountpoint: v.Mountpoint,
    createdAt: v.CreatedAt,
    labels: v.Labels,
    options: v.Options ?? {},
    scope: v.Scope,
  };
}
