import type { ContentStore } from '@berth/content';
import { ConflictError, FailedPreconditionError, NotFoundError } from '@berth/errors';
import { chainIds, type ImageConfig, type ImageManifest, parseReference, shortId } from '@berth/oci';
import type { ImageDbRow, ImageEmitter, ImageIndex } from './image-index.js';
import { familiar, isIdPrefix, isSingleReference, repositoryOf } from './image-names.js';
import { pruneUntil } from '@berth/filters';
import { type ImageFilters, normalizeFilters } from './list-filters.js';
import type { LayerSnapshotter } from './image-unpacker.js';
import type { DeleteItem, HeldResource, PruneResult } from './types.js';

/**
 * Removes images (`docker rmi`, `docker image prune`) and collects what only they used: blobs in
 * the content store and committed snapshots, never anything another image or a container needs,
 * nor what a lease holds (a build in progress stacking on a layer, the build cache's blobs).
 */
export class ImageCollector {
  private readonly usedBy: (imageId: string) => string[];
  private readonly held: (resource: HeldResource) => boolean;

  constructor(
    private readonly index: ImageIndex,
    private readonly content: ContentStore,
    private readonly snapshotter: Pick<LayerSnapshotter, 'exists' | 'remove'>,
    uses: { usedBy: (imageId: string) => string[]; held: (resource: HeldResource) => boolean },
    private readonly emit: ImageEmitter,
  ) {
    this.usedBy = uses.usedBy;
    this.held = uses.held;
  }

  /**
   * `docker rmi`. By name: untags it (and the digest names of that repository when no tag of it
   * remains); the image itself goes with its last name. Refused while a container uses an image
   * that would lose its last name, unless `force` (then only the names go; the image stays, dangling,
   * until no container needs it). By id: refused when the image has names in several repositories
   * or is in use, unless `force`; never while child images depend on it.
   */
  async remove(ref: string, options: { force?: boolean } = {}): Promise<DeleteItem[]> {
    const force = options.force ?? false;
    const row = this.index.findRow(ref);
    const id = row.id;
    const out: DeleteItem[] = [];
    const users = this.usedBy(id);
    let names = this.index.namesOf(id);
    const parsed = isIdPrefix(id, ref) ? undefined : parseReference(ref);
    const name = parsed && (parsed.digest ? `${parsed.name}@${parsed.digest}` : parsed.toString());
    if (parsed && name && names.includes(name)) {
      if (!force && users.length > 0 && isSingleReference(names)) {
        throw new ConflictError(
          `conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(users[0]!)} is using its referenced image ${shortId(id)}`,
        );
      }
      this.untag(name, id, out);
      names = this.index.namesOf(id);
      if (!parsed.digest && !names.some((n) => !n.includes('@') && repositoryOf(n) === parsed.name)) {
        // No tag of this repository is left: its digest references go too (as in Docker).
        for (const n of names.filter((n) => n.includes('@') && repositoryOf(n) === parsed.name)) this.untag(n, id, out);
        names = this.index.namesOf(id);
      }
      if (names.length > 0 || users.length > 0 || this.index.childrenOf(id).length > 0) return out;
      out.push(...(await this.deleteImage(id)).items);
      return out;
    }

    if (this.index.childrenOf(id).length > 0) {
      throw new ConflictError(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`);
    }
    if (!force && names.length > 0 && !isSingleReference(names)) {
      throw new ConflictError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (!force && users.length > 0) {
      throw new ConflictError(
        `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(users[0]!)}`,
      );
    }
    for (const n of names) this.untag(n, id, out);
    if (users.length > 0) return out;
    out.push(...(await this.deleteImage(id)).items);
    return out;
  }

  /**
   * Removes unused images: dangling ones (no name, no child image, no container), or with `all`
   * every image no container uses. Repeats until nothing more goes (a parent freed by its child).
   */
  async prune(options: { all?: boolean; filters?: ImageFilters } = {}): Promise<PruneResult> {
    const filters = normalizeFilters(options.filters, ['dangling', 'label', 'label!', 'until']);
    const all = options.all || !filters.boolOrDefault('dangling', true);
    const untilTime = pruneUntil(filters);
    const out: DeleteItem[] = [];
    let reclaimed = 0;
    for (;;) {
      const rows = this.index.db.prepare('SELECT * FROM images').all() as ImageDbRow[];
      const candidates = [];
      for (const row of rows) {
        const names = this.index.namesOf(row.id);
        if (!all && names.length > 0) continue;
        if (this.usedBy(row.id).length > 0 || this.index.childrenOf(row.id).length > 0) continue;
        if (untilTime !== undefined && Date.parse(row.created) >= untilTime) continue;
        if (filters.has('label') || filters.has('label!')) {
          // a config missing from the store has no labels to match
          const labels = (await this.content.readJson<ImageConfig>(row.id).catch(() => undefined))?.config?.Labels;
          if (!filters.matchKVList('label', labels)) continue;
          if (filters.has('label!') && filters.matchKVList('label!', labels)) continue;
        }
        candidates.push({ row, names });
      }
      if (candidates.length === 0) break;
      for (const { row, names } of candidates) {
        for (const n of names) this.untag(n, row.id, out);
        const result = await this.deleteImage(row.id);
        out.push(...result.items);
        reclaimed += result.reclaimed;
      }
    }
    return { ImagesDeleted: out, SpaceReclaimed: reclaimed };
  }

  /**
   * Deletes an image record, then the blobs and snapshots no other image uses and no lease holds
   * (snapshots top down, stopping at one that still has children, e.g. a container's, or that a
   * lease holds: the ones below are its parents).
   */
  private async deleteImage(id: string): Promise<{ items: DeleteItem[]; reclaimed: number }> {
    const record = await this.index.resolve(id);
    const others = (this.index.db.prepare('SELECT id, manifest_digest FROM images WHERE id != ?').all(id) as ImageDbRow[]);
    const keepBlobs = new Set<string>();
    const keepChains = new Set<string>();
    const keepDiffIds = new Set<string>();
    for (const other of others) {
      keepBlobs.add(other.manifest_digest);
      // a manifest missing from the store keeps nothing else
      const m = await this.content.readJson<ImageManifest>(other.manifest_digest).catch(() => undefined);
      if (!m) continue;
      keepBlobs.add(m.config.digest);
      for (const l of m.layers) keepBlobs.add(l.digest);
      const c = await this.content.readJson<ImageConfig>(m.config.digest).catch(() => undefined); // a config missing from the store keeps nothing else
      for (const chain of chainIds(c?.rootfs.diff_ids ?? [])) keepChains.add(chain);
      for (const d of c?.rootfs.diff_ids ?? []) keepDiffIds.add(d);
    }
    this.index.db.transaction(() => {
      this.index.db.prepare('DELETE FROM image_names WHERE image_id = ?').run(id);
      this.index.db.prepare('UPDATE images SET parent = NULL WHERE parent = ?').run(id);
      this.index.db.prepare('DELETE FROM images WHERE id = ?').run(id);
    })();
    this.emit('delete', id);
    const items: DeleteItem[] = [{ Deleted: id }];

    const deleted = new Set<string>();
    for (const blob of [record.manifestDigest, record.manifest.config.digest, ...record.manifest.layers.map((l) => l.digest)]) {
      if (keepBlobs.has(blob) || this.held({ type: 'blob', id: blob })) continue;
      await this.content.delete(blob);
      deleted.add(blob);
    }
    const chains = chainIds(record.config.rootfs.diff_ids);
    for (let i = chains.length - 1; i >= 0; i--) {
      const chain = chains[i]!;
      if (keepChains.has(chain)) break; // every lower chain is kept too
      if (this.held({ type: 'snapshot', id: chain })) break; // and every parent of a held one
      if (!(await this.snapshotter.exists(chain))) continue;
      try {
        await this.snapshotter.remove(chain);
        items.push({ Deleted: chain });
      } catch (err) {
        if (err instanceof FailedPreconditionError || err instanceof NotFoundError) break;
        throw err;
      }
    }
    let reclaimed = 0;
    const counted = new Set<string>();
    for (const [i, diffId] of record.config.rootfs.diff_ids.entries()) {
      if (counted.has(diffId) || keepDiffIds.has(diffId) || !deleted.has(record.manifest.layers[i]?.digest ?? '')) continue;
      counted.add(diffId);
      reclaimed += this.index.layerSize(diffId) ?? 0;
    }
    return { items, reclaimed };
  }

  private untag(name: string, id: string, out: DeleteItem[]): void {
    this.index.deleteName(name);
    out.push({ Untagged: familiar(name) });
    this.emit('untag', id, name);
  }
}
