import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import { ContainerStore } from './container-store.js';
import { KeyedMutex } from './keyed-mutex.js';
import { ContainerLayout } from './layout.js';
import { LiveTable } from './live-state.js';
import type { ContainerEvent, ContainerRecord } from './types.js';
import { silentLogger, type Logger } from '@berth/log';
import { Trash } from '@berth/snapshots';

/**
 * What the container manager's parts (lifecycle, runner, queries, I/O, filesystem) share: the
 * layout, the records, the per-container mutex, the in-memory live state, and the event sink.
 * Every state-changing operation on one container runs under `locks.run(id, …)`.
 */
export class ContainerContext {
  readonly layout: ContainerLayout;
  readonly store: ContainerStore;
  readonly locks = new KeyedMutex();
  readonly live = new LiveTable();
  /** Names reserved by creates in flight (the row is inserted only at the end of create). */
  readonly reservedNames = new Set<string>();
  /** Ids of creates in flight: their snapshot and bundle dir exist before their record does. */
  readonly reservedIds = new Set<string>();
  /** Removed containers' bundle dirs (renamed into layout.trashDir) being deleted in the background. */
  readonly trash = new Trash();
  /** Aborts the exit watchers on close. */
  readonly watchers = new AbortController();
  /** Where failures nobody waits for go (an exit that could not be handled, a sweep that failed). */
  readonly log: Logger;
  private readonly onEvent: (event: ContainerEvent) => void;

  constructor(options: {
    dataRoot: string;
    runRoot: string;
    db: MetadataDb;
    onEvent?: (event: ContainerEvent) => void;
    log?: Logger;
  }) {
    this.layout = new ContainerLayout(options.dataRoot, options.runRoot);
    this.log = options.log ?? silentLogger;
    this.store = new ContainerStore(options.db, { log: this.log });
    this.onEvent = options.onEvent ?? (() => {});
  }

  /** True once `close` was called: exits and restarts are then left to the next process. */
  get closed(): boolean {
    return this.watchers.signal.aborted;
  }

  close(): void {
    this.watchers.abort();
    this.store.close();
  }

  /** The record; NotFoundError `No such container: x`. */
  mustGet(id: string): ContainerRecord {
    const rec = this.store.get(id);
    if (rec === undefined) {
      throw new NotFoundError(`No such container: ${id}`, { code: 'NO_SUCH_CONTAINER', detail: { container: id } });
    }
    return rec;
  }

  /**
   * Full id from a full id, a name (with or without slash) or a unique id prefix.
   * NotFoundError `No such container: x`; InvalidArgumentError for an ambiguous prefix.
   */
  resolve(idOrName: string): string {
    if (idOrName !== '') {
      if (/^[0-9a-f]{64}$/.test(idOrName) && this.store.get(idOrName) !== undefined) return idOrName;
      const byName = this.store.idByName(idOrName.startsWith('/') ? idOrName : `/${idOrName}`);
      if (byName !== undefined) return byName;
      if (/^[0-9a-f]+$/.test(idOrName)) {
        const ids = this.store.idsByPrefix(idOrName);
        if (ids.length === 1) return ids[0]!;
        if (ids.length > 1) {
          throw new InvalidArgumentError(`Multiple IDs found with provided prefix: ${idOrName}`, {
            code: 'AMBIGUOUS_CONTAINER_ID',
          });
        }
      }
    }
    throw new NotFoundError(`No such container: ${idOrName}`, { code: 'NO_SUCH_CONTAINER', detail: { container: idOrName } });
  }

  /** Docker's `container prune` event: no actor, the bytes reclaimed. */
  emitPrune(reclaimed: number): void {
    try {
      this.onEvent({ action: 'prune', id: '', name: '', image: '', attributes: { reclaimed: String(reclaimed) } });
    } catch {
      // A listener's failure must not break the prune.
    }
  }

  /** The record of an id, a name or a unique id prefix; undefined when there is none (or several). */
  find(idOrName: string): ContainerRecord | undefined {
    try {
      return this.store.get(this.resolve(idOrName));
    } catch {
      return undefined;
    }
  }

  /** Publishes a container event; a listener's failure never breaks the lifecycle. */
  emit(action: ContainerEvent['action'], rec: ContainerRecord, attributes: Record<string, string> = {}): void {
    try {
      this.onEvent({
        action,
        id: rec.Id,
        name: rec.Name.slice(1),
        image: rec.ImageRef,
        attributes: { ...rec.Config.Labels, image: rec.ImageRef, name: rec.Name.slice(1), ...attributes },
      });
    } catch {
      // A listener's failure must not break the lifecycle.
    }
  }
}
