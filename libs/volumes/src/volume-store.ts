import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InternalError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import { FilterArgs, formatFilterValues } from '@berth/filters';
import { directorySize, mountPoints, unmount } from '@berth/snapshots';
import { mountLocal, parseLocalOptions } from './local-options.js';
import { checkVolumeName, randomVolumeName } from './volume-name.js';

/**
 * Docker's Volume object (docker-engine-api swagger `Volume`), as `volume inspect` prints it.
 * `Options` is null when the volume was made without driver options.
 */
export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
}

export interface CreateVolumeOptions {
  /** Only `local` (the default) exists. */
  driver?: string;
  labels?: Record<string, string>;
  /** The local driver's `type`, `device` and `o` (see local-options.ts). */
  driverOpts?: Record<string, string>;
  /**
   * Made for a container without a name (`-v /data`, the image's VOLUME): labelled
   * `com.docker.volume.anonymous` as Docker does, and what `prune` removes by default.
   */
  anonymous?: boolean;
}

export interface ListVolumesOptions {
  /** Docker's filters: `dangling` (true/false), `name` (substring), `label` (key or key=value), `driver`. */
  filters?: Record<string, string[]>;
}

export interface PruneVolumesOptions {
  /** Also named volumes; by default only anonymous ones go (Docker 23+). */
  all?: boolean;
  /** `label` / `label!` (key or key=value). */
  filters?: Record<string, string[]>;
}

/** Docker's volume events: create, destroy, a container's mount and unmount, prune (no volume). */
export interface VolumeEvent {
  action: 'create' | 'destroy' | 'mount' | 'unmount' | 'prune';
  name: string;
  attributes: Record<string, string>;
}

export interface VolumeStoreOptions {
  /** `<data-root>`: volumes live under `<data-root>/volumes/`. */
  dataRoot: string;
  db: MetadataDb;
  /** Ids of the containers (any state) that use a volume: `rm` refuses those, `prune` skips them. */
  usedBy?: (name: string) => string[];
  onEvent?: (event: VolumeEvent) => void;
}

/** Docker's label on anonymous volumes. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

interface Row {
  name: string;
  driver: string;
  created: string;
  labels: string;
  options: string;
  anonymous: number;
}

/**
 * Docker's `local` volume driver plus its volume service on one host. This file owns the layout:
 *
 *   <dataRoot>/volumes/                0700: closed to other users of the host
 *   <dataRoot>/volumes/<name>/         one directory per volume
 *       _data/                         the volume's content: bind-mounted into containers; with
 *                                      driver options (type/device/o) the mountpoint of that filesystem
 *
 * The record (driver, creation time, labels, options, anonymous) is in the metadata database,
 * table `volumes`. A volume in use by any container (whatever its state) is not removed unless
 * forced; which containers use it is asked of `usedBy` (the container manager).
 */
export class VolumeStore {
  readonly volumesDir: string;
  private readonly db: MetadataDb;
  private readonly usedBy: (name: string) => string[];
  private readonly onEvent: (event: VolumeEvent) => void;

  constructor(options: VolumeStoreOptions) {
    this.volumesDir = join(options.dataRoot, 'volumes');
    this.db = options.db;
    this.usedBy = options.usedBy ?? (() => []);
    this.onEvent = options.onEvent ?? (() => {});
  }

  /** The host directory that holds a volume's data (whether or not the volume exists). */
  mountpoint(name: string): string {
    return join(this.volumesDir, name, '_data');
  }

  /**
   * Creates a volume (`docker volume create`); a random 64-hex name when `name` is empty. Creating
   * a name that exists returns the existing volume unchanged, as Docker does. InvalidArgumentError
   * for a bad name, an unknown driver or bad driver options.
   */
  async create(name: string | undefined, options: CreateVolumeOptions = {}): Promise<Volume> {
    const driver = options.driver || 'local';
    if (driver !== 'local') {
      throw new InvalidArgumentError(`error looking up volume plugin ${driver}: plugin "${driver}" not found: only the "local" driver exists`, {
        code: 'NO_SUCH_VOLUME_DRIVER',
      });
    }
    const volumeName = name || randomVolumeName();
    checkVolumeName(volumeName);
    const existing = this.row(volumeName);
    if (existing !== undefined) return this.toVolume(existing);
    const driverOpts = options.driverOpts ?? {};
    parseLocalOptions(driverOpts);
    const labels = { ...(options.labels ?? {}), ...(options.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const data = this.mountpoint(volumeName);
    await this.makeDataDir(data);
    const row: Row = {
      name: volumeName,
      driver,
      created: new Date().toISOString(),
      labels: JSON.stringify(labels),
      options: JSON.stringify(driverOpts),
      anonymous: options.anonymous ? 1 : 0,
    };
    try {
      this.db
        .prepare('INSERT INTO volumes (name, driver, created, labels, options, anonymous) VALUES (?, ?, ?, ?, ?, ?)')
        .run(row.name, row.driver, row.created, row.labels, row.options, row.anonymous);
    } catch (err) {
      // Another create of the same name won the race: its volume is the answer.
      const winner = this.row(volumeName);
      if (winner !== undefined) return this.toVolume(winner);
      await rm(join(this.volumesDir, volumeName), { recursive: true, force: true });
      throw err;
    }
    this.emit('create', row);
    return this.toVolume(row);
  }

  /** `docker volume inspect`. NotFoundError `get x: no such volume`. */
  inspect(name: string): Volume {
    const row = this.row(name);
    if (row === undefined) throw noSuchVolume(name);
    return this.toVolume(row);
  }

  /** The volume, or undefined when there is none of that name. */
  get(name: string): Volume | undefined {
    const row = this.row(name);
    return row === undefined ? undefined : this.toVolume(row);
  }

  /** Whether the volume was made anonymous (see CreateVolumeOptions.anonymous). NotFoundError. */
  isAnonymous(name: string): boolean {
    const row = this.row(name);
    if (row === undefined) throw noSuchVolume(name);
    return row.anonymous === 1;
  }

  /**
   * `docker volume ls`, sorted by name, with Docker's filters (@berth/filters rules): `name`
   * (exact or regular expression), `driver` (exact), `label` (every one holds), `dangling`
   * (true: unused). InvalidArgumentError `invalid filter 'x'` for another key or value.
   */
  list(options: ListVolumesOptions = {}): Volume[] {
    const filters = FilterArgs.from(options.filters).validate(['dangling', 'name', 'label', 'driver']);
    const dangling = filters.has('dangling') ? filters.boolOrDefault('dangling', false) : undefined;
    return this.rows()
      .filter((row) => {
        const labels = JSON.parse(row.labels) as Record<string, string>;
        if (filters.has('name') && !filters.match('name', row.name)) return false;
        if (!filters.exactMatch('driver', row.driver)) return false;
        if (!filters.matchKVList('label', labels)) return false;
        if (dangling !== undefined && dangling !== (this.usedBy(row.name).length === 0)) return false;
        return true;
      })
      .map((row) => this.toVolume(row));
  }

  /**
   * Makes the volume's data ready for a container and returns its host path: a volume with driver
   * options gets its filesystem mounted on `_data` (once; it stays mounted until the volume is
   * removed). NotFoundError when there is no such volume.
   */
  async acquire(name: string): Promise<string> {
    const row = this.row(name);
    if (row === undefined) throw noSuchVolume(name);
    const data = this.mountpoint(name);
    await this.makeDataDir(data);
    const local = parseLocalOptions(JSON.parse(row.options) as Record<string, string>);
    // The driver's own mount is not an event: Docker's `mount` is a container's (see announce).
    if (local !== undefined && !(await isMounted(data))) await mountLocal(local, data);
    return data;
  }

  /**
   * Removes a volume and its data (`docker volume rm`). One in use by a container is refused with
   * Docker's ConflictError `remove x: volume is in use - [<ids>]` unless `force`; `force` also makes
   * a missing volume a no-op (else NotFoundError `get x: no such volume`).
   */
  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    const row = this.row(name);
    if (row === undefined) {
      if (options.force) return;
      throw noSuchVolume(name);
    }
    const users = this.usedBy(name);
    if (users.length > 0 && !options.force) {
      throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`, {
        code: 'VOLUME_IN_USE',
        detail: { name, containers: users },
      });
    }
    await this.destroy(row);
  }

  /**
   * Removes every volume no container uses (`docker volume prune`): anonymous ones only, unless
   * `all`. @returns the removed names and the bytes their data took.
   */
  async prune(options: PruneVolumesOptions = {}): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const filters = FilterArgs.from(options.filters).validate(['label', 'label!', 'all']);
    const all = options.all || pruneAll(filters.get('all'));
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const row of this.rows()) {
      const labels = JSON.parse(row.labels) as Record<string, string>;
      if (!all && row.anonymous !== 1) continue;
      if (!filters.matchKVList('label', labels)) continue;
      if (filters.has('label!') && filters.matchKVList('label!', labels)) continue;
      if (this.usedBy(row.name).length > 0) continue;
      const size = await directorySize(this.mountpoint(row.name));
      await this.destroy(row);
      deleted.push(row.name);
      spaceReclaimed += size;
    }
    try {
      this.onEvent({ action: 'prune', name: '', attributes: { reclaimed: String(spaceReclaimed) } });
    } catch {
      // A listener's failure must not break the prune.
    }
    return { deleted, spaceReclaimed };
  }

  /**
   * `system df`'s volume row: how many volumes, how many in use, the bytes of their data, and the
   * bytes of the unused ones.
   */
  async usage(): Promise<{ count: number; active: number; size: number; reclaimable: number }> {
    let active = 0;
    let size = 0;
    let reclaimable = 0;
    const rows = this.rows();
    for (const row of rows) {
      const bytes = await directorySize(this.mountpoint(row.name));
      size += bytes;
      if (this.usedBy(row.name).length > 0) active++;
      else reclaimable += bytes;
    }
    return { count: rows.length, active, size, reclaimable };
  }

  /** Unmounts (driver options), deletes the directory, then the record. */
  /**
   * `<name>/_data` 0755 (what a container sees at the mount), under `volumes/` 0700 (as the rest of
   * the data root): other users of the host cannot reach a volume's files; containers can.
   */
  private async makeDataDir(data: string): Promise<void> {
    await mkdir(this.volumesDir, { recursive: true, mode: 0o700 });
    await mkdir(data, { recursive: true, mode: 0o755 });
  }

  private async destroy(row: Row): Promise<void> {
    const data = this.mountpoint(row.name);
    if (await isMounted(data)) {
      await unmount(data);
      // Never delete through a mount: a bind volume's data is the user's own directory.
      if (await isMounted(data)) throw new InternalError(`Cannot remove volume "${row.name}": "${data}" is still mounted`);
    }
    await rm(join(this.volumesDir, row.name), { recursive: true, force: true });
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(row.name);
    this.emit('destroy', row);
  }

  private row(name: string): Row | undefined {
    return this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Row | undefined;
  }

  private rows(): Row[] {
    return this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as Row[];
  }

  private toVolume(row: Row): Volume {
    const options = JSON.parse(row.options) as Record<string, string>;
    return {
      CreatedAt: rfc3339Seconds(row.created),
      Driver: row.driver,
      Labels: JSON.parse(row.labels) as Record<string, string>,
      Mountpoint: this.mountpoint(row.name),
      Name: row.name,
      Options: Object.keys(options).length > 0 ? options : null,
      Scope: 'local',
    };
  }

  /**
   * Docker's `mount` / `unmount` event of a volume a container starts with / stopped with; the
   * attributes (`container`, `destination`, `read/write`, `propagation` for mount) follow `driver`.
   * A volume that is gone is not announced.
   */
  announce(name: string, action: 'mount' | 'unmount', attributes: Record<string, string>): void {
    const row = this.row(name);
    if (row) this.emit(action, row, attributes);
  }

  private emit(action: VolumeEvent['action'], row: Row, attributes: Record<string, string> = {}): void {
    try {
      this.onEvent({ action, name: row.name, attributes: { driver: row.driver, ...attributes } });
    } catch {
      // A listener's failure must not break the operation.
    }
  }
}

function noSuchVolume(name: string): NotFoundError {
  return new NotFoundError(`get ${name}: no such volume`, { code: 'NO_SUCH_VOLUME', detail: { name } });
}

/** Docker's `all` filter of `volume prune`: one Go boolean (strconv.ParseBool). */
function pruneAll(values: string[]): boolean {
  if (values.length > 1) throw new InvalidArgumentError(`invalid filter 'all=${formatFilterValues(values)}': only one value is expected`);
  if (values.length === 0) return false;
  const v = values[0]!;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new InvalidArgumentError(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** Docker prints CreatedAt as RFC 3339 without fractions (`2024-05-01T10:00:00Z`). */
function rfc3339Seconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

async function isMounted(path: string): Promise<boolean> {
  return (await mountPoints()).some((m) => m.target === path);
}
