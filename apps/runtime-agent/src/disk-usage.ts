import type { ContainerManager } from '@berth/containers';
import type { ImageStore } from '@berth/images';
import type { DfContainer, DfImage, DfVolume } from '@berth/proto';
import { directorySize } from '@berth/snapshots';
import type { VolumeStore } from '@berth/volumes';

/**
 * The objects behind `system df -v` (docker's /system/df answer): each image with its shared and
 * unique sizes and how many containers use it, each container with its rw size and volume count,
 * each volume with its size and links. Build cache records are not listed: the builder keeps no
 * per-record view yet (its total is in the summary rows).
 */
export async function diskUsageDetails(parts: {
  images: ImageStore;
  containers: ContainerManager;
  volumes?: VolumeStore;
}): Promise<{ images: DfImage[]; containers: DfContainer[]; volumes: DfVolume[] }> {
  const df = await parts.images.df();
  const summaries = new Map((await parts.images.list({ all: true })).map((s) => [s.Id, s]));
  const images = df.images.map((i): DfImage => {
    const s = summaries.get(i.id);
    return { id: i.id, repoTags: s?.RepoTags ?? [], created: s?.Created ?? 0, size: i.size, sharedSize: i.sharedSize, containers: i.containers };
  });
  const list = await parts.containers.list({ all: true });
  const containers: DfContainer[] = [];
  for (const c of list) {
    const size = await parts.containers.size(c.Id).catch(() => ({ SizeRw: 0 }));
    containers.push({
      id: c.Id,
      image: c.Image,
      command: c.Command,
      localVolumes: (c.Mounts as Array<{ Type?: string }>).filter((m) => m.Type === 'volume').length,
      sizeRw: size.SizeRw,
      created: c.Created,
      status: c.Status,
      names: c.Names,
    });
  }
  const volumes: DfVolume[] = [];
  for (const v of parts.volumes?.list() ?? []) {
    const links = list.filter((c) => (c.Mounts as Array<{ Type?: string; Name?: string }>).some((m) => m.Type === 'volume' && m.Name === v.Name)).length;
    volumes.push({ name: v.Name, links, size: await directorySize(v.Mountpoint) });
  }
  return { images, containers, volumes };
}
