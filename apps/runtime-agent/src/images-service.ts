import { Readable } from 'node:stream';
import type { ContainerManager } from '@berth/containers';
import { InvalidArgumentError } from '@berth/errors';
import { parseReference } from '@berth/oci';
import type { DeleteItem, ImageManifestSummary as DockerManifestSummary, ImageStore } from '@berth/images';
import {
  handleClientStream,
  handleServerStream,
  handleUnary,
  type DataChunk,
  type ImageSummary,
  type ImagesServer,
  type ImportImageChunk,
  type ImportImageOptions,
} from '@berth/proto';
import { filtersToMap } from './convert.js';
import type { RegistryTransfer } from './registry-transfer.js';
import { silentLogger, warnOnFailure, type Logger } from '@berth/log';

/**
 * The Images gRPC service of the agent: thin handlers over the host's ImageStore (and, for
 * pull/push/login, over `options.registry`).
 */
export function imagesService(images: ImageStore, containers: ContainerManager, options: { registry: RegistryTransfer; log?: Logger }): ImagesServer {
  const summary = async (ref: string): Promise<ImageSummary> => {
    const list = await images.list({ all: true });
    const image = await images.resolve(ref);
    const s = list.find((i) => i.Id === image.id);
    return toSummary(s ?? { Id: image.id, RepoTags: image.names, RepoDigests: [], Created: 0, Size: image.size, Labels: {}, Containers: 0, ParentId: '' });
  };
  return {
    list: handleUnary(async ({ all, filters, manifests }) => {
      const list = await images.list({ all, filters: filtersToMap(filters), manifests });
      return { images: list.map(toSummary) };
    }),
    inspect: handleUnary(async ({ ref }) => ({ json: JSON.stringify(await images.inspect(ref)) })),
    history: handleUnary(async ({ ref }) => ({
      entries: (await images.history(ref)).map((h) => ({
        id: h.Id,
        created: h.Created,
        createdBy: h.CreatedBy,
        size: h.Size,
        comment: h.Comment,
        emptyLayer: h.EmptyLayer ?? false,
        tags: h.Tags ?? [],
      })),
    })),
    tag: handleUnary(async ({ source, target }) => (await images.tag(source, target), {})),
    remove: handleUnary(async ({ ref, force }) => ({
      items: (await images.remove(ref, { force })).map(deleteItem),
    })),
    prune: handleUnary(async ({ all, filters }) => {
      const result = await images.prune({ all, filters: filtersToMap(filters) });
      return { deleted: result.ImagesDeleted.map(deleteItem), spaceReclaimed: result.SpaceReclaimed };
    }),
    import: handleClientStream<ImportImageChunk, ImageSummary>(async (messages) => {
      const iterator = messages[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.part?.$case !== 'options') throw new InvalidArgumentError('Import must begin with its options');
      const options: ImportImageOptions = first.value.part.value;
      const data = Readable.from(
        (async function* () {
          for (let m = await iterator.next(); !m.done; m = await iterator.next()) {
            if (m.value.part?.$case === 'data') yield m.value.part.value;
          }
        })(),
      );
      const image = await images.importTar(data, { ref: options.ref || undefined, changes: options.changes, message: options.message || undefined });
      return summary(image.id);
    }),
    save: handleServerStream(async ({ refs }) => chunks(await images.save(refs))),
    load: handleClientStream<DataChunk, { loaded: string[] }>(async (messages) => {
      const data = Readable.from(
        (async function* () {
          for await (const m of messages) yield m.data;
        })(),
      );
      const loaded = await images.load(data);
      return { loaded: loaded.map((l) => (l.name ? `Loaded image: ${l.name}` : `Loaded image ID: ${l.id}`)) };
    }),
    commit: handleUnary(async (req) => {
      const info = await containers.commitInfo(req.container);
      // A container that is not running (or already paused) is committed as it is, as docker does.
      const paused = req.pause && (await containers.pause(req.container).then(() => true, () => false));
      try {
        const image = await images.commit({
          upperDir: info.upperDir,
          exclude: info.exclude,
          parent: info.imageId,
          config: info.config,
          ref: req.ref || undefined,
          author: req.author || undefined,
          message: req.message || undefined,
          changes: req.changes,
        });
        containers.committed(info.id, { comment: req.message, imageID: image.id, imageRef: req.ref ? parseReference(req.ref).familiar() : '' });
        return summary(image.id);
      } finally {
        if (paused) await containers.unpause(req.container).catch(warnOnFailure(options.log ?? silentLogger, { container: info.id }, 'Cannot unpause the container after its commit'));
      }
    }),
    bootstrap: handleServerStream(async function* ({ kind, ref }) {
      if (kind !== 'busybox' && kind !== 'debian') throw new InvalidArgumentError(`Unknown base image "${kind}": expected busybox or debian`);
      yield { message: `Making ${kind} base image`, imageId: '' };
      const image = await images.bootstrap(kind, { ref: ref || undefined });
      const names = image.names.map((n) => parseReference(n).familiar());
      yield { message: `Created ${names.join(', ') || image.id}`, imageId: image.id };
    }),
    pull: handleServerStream((request) => options.registry.pull(request)),
    push: handleServerStream((request) => options.registry.push(request)),
    login: handleUnary((request) => options.registry.login(request)),
    search: handleUnary((request) => options.registry.search(request)),
  };
}

function deleteItem(item: DeleteItem): { untagged: string; deleted: string } {
  return 'Untagged' in item ? { untagged: item.Untagged, deleted: '' } : { untagged: '', deleted: item.Deleted };
}

function toSummary(s: {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
  ParentId?: string;
  Manifests?: DockerManifestSummary[];
}): ImageSummary {
  return {
    id: s.Id,
    repoTags: s.RepoTags ?? [],
    repoDigests: s.RepoDigests ?? [],
    created: s.Created,
    size: s.Size,
    labels: s.Labels ?? {},
    containers: s.Containers ?? 0,
    parentId: s.ParentId ?? '',
    manifests: (s.Manifests ?? []).map((m) => ({
      id: m.ID,
      platform: [m.ImageData.Platform.os, m.ImageData.Platform.architecture, m.ImageData.Platform.variant].filter(Boolean).join('/'),
      totalSize: m.Size.Total,
      contentSize: m.Size.Content,
      containers: m.ImageData.Containers.length,
      available: m.Available,
    })),
  };
}

async function* chunks(stream: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<DataChunk> {
  for await (const data of stream) yield { data: Buffer.isBuffer(data) ? data : Buffer.from(data) };
}
