import { randomBytes } from 'node:crypto';
import type { ContentStore } from '@berth/content';
import { AlreadyExistsError, InvalidArgumentError } from '@berth/errors';
import { applyLayer } from '@berth/layers';
import { chainIds, shortId } from '@berth/oci';
import type { ImageRecord } from './types.js';
import { silentLogger, warnOnFailure, type Logger } from '@berth/log';

/**
 * The part of a snapshotter the image store uses (`OverlaySnapshotter` of @berth/snapshots).
 * Committed layer snapshots are named by chain ID.
 */
export interface LayerSnapshotter {
  exists(key: string): Promise<boolean>;
  prepare(key: string, parent?: string): Promise<unknown>;
  commit(name: string, key: string): Promise<unknown>;
  remove(key: string): Promise<unknown>;
  upperDir(key: string): string;
  lowerDirs(key: string): string[];
}

/** Unpacks images' layers into committed snapshots, one per layer chain, shared by every image. */
export class ImageUnpacker {
  /** Unpacks in flight, by image id: a second caller waits for the first. */
  private readonly unpacking = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly content: ContentStore,
    private readonly snapshotter: LayerSnapshotter,
    private readonly log: Logger = silentLogger,
  ) {}

  /**
   * Ensures a committed snapshot exists for every layer chain of the image and returns the top
   * chain ID (undefined for an image without layers). Each missing layer is applied into a fresh
   * `extract-<random>` snapshot on its parent chain, its diff ID checked, then committed under its
   * chain ID; if another unpacker committed it first, ours is discarded.
   */
  async unpack(record: ImageRecord): Promise<string | undefined> {
    const running = this.unpacking.get(record.id);
    if (running) return running;
    const work = this.unpackRecord(record).finally(() => this.unpacking.delete(record.id));
    this.unpacking.set(record.id, work);
    return work;
  }

  private async unpackRecord(record: ImageRecord): Promise<string | undefined> {
    const diffIds = record.config.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    for (const [i, chain] of chains.entries()) {
      if (await this.snapshotter.exists(chain)) continue;
      const key = `extract-${randomBytes(8).toString('hex')}`;
      await this.snapshotter.prepare(key, i > 0 ? chains[i - 1] : undefined);
      try {
        const { diffId } = await applyLayer(this.snapshotter.upperDir(key), this.content.createReadStream(record.manifest.layers[i]!.digest), {
          whiteouts: 'overlay',
          lowers: this.snapshotter.lowerDirs(key),
        });
        if (diffId !== diffIds[i]) {
          throw new InvalidArgumentError(
            `Cannot unpack image ${shortId(record.id)}: layer ${i} has diff ID "${diffId}", the config says "${diffIds[i]}"`,
          );
        }
        try {
          await this.snapshotter.commit(chain, key);
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          await this.snapshotter.remove(key);
        }
      } catch (err) {
        await this.snapshotter.remove(key).catch(warnOnFailure(this.log, { image: record.id, snapshot: key }, 'Cannot remove the snapshot of a failed unpack'));
        throw err;
      }
    }
    return chains.at(-1);
  }
}
