import type { Readable } from 'node:stream';
import { listChanges, packDirectory } from '@berth/layers';
import type { ContainerContext } from './container-context.js';
import type { ContainerSnapshotter } from './dependencies.js';
import { isMountpoint } from './mountinfo.js';
import { mountStubs } from './mount-stubs.js';
import { mountSnapshotView } from './snapshot-view.js';
import type { CommitInfo } from './types.js';

/** A container's filesystem as data: `docker diff`, `docker export`, and what `docker commit` needs. */
export class ContainerFilesystem {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly snapshotter: Pick<ContainerSnapshotter, 'mounts' | 'upperDir' | 'lowerDirs'>,
  ) {}

  /**
   * Changes of the container's rw layer against its image (`docker diff`), without the mountpoint
   * stubs of /etc/hostname, /etc/hosts and /etc/resolv.conf (mount-stubs.ts), as Docker shows them.
   */
  async diff(idOrName: string): Promise<Array<{ kind: 'A' | 'C' | 'D'; path: string }>> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    const upper = this.snapshotter.upperDir(rec.SnapshotKey);
    const hidden = new Set((await mountStubs(upper)).map((p) => `/${p}`));
    return (await listChanges(upper, await this.snapshotter.lowerDirs(rec.SnapshotKey))).filter((c) => !hidden.has(c.path));
  }

  /**
   * The container's whole filesystem as one plain tar stream (`docker export`). A stopped
   * container's snapshot is mounted on a temporary mountpoint until the stream ends.
   */
  async export(idOrName: string): Promise<Readable> {
    const id = this.ctx.resolve(idOrName);
    return this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      this.ctx.emit('export', rec);
      const rootfs = this.ctx.layout.rootfs(id);
      if (await isMountpoint(rootfs)) {
        const packed = packDirectory(rootfs);
        packed.diffId.catch(() => {}); // only the stream matters here; its errors reach the reader
        return packed.stream;
      }
      const { target, release } = await mountSnapshotView(rec, { ctx: this.ctx, snapshotter: this.snapshotter, purpose: 'export' });
      const { stream, diffId } = packDirectory(target);
      diffId.catch(() => {}); // only the stream matters here; its errors reach the reader
      stream.once('end', release);
      stream.once('close', release);
      stream.once('error', release);
      return stream;
    });
  }

  /** What `ImageStore.commit` needs to turn the container into an image (the mountpoint stubs left out). */
  async commitInfo(idOrName: string): Promise<CommitInfo> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    const upperDir = this.snapshotter.upperDir(rec.SnapshotKey);
    return { id: rec.Id, upperDir, exclude: await mountStubs(upperDir), imageId: rec.Image, config: rec.Config };
  }
}
