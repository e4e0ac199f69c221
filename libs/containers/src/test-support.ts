/**
 * Helpers for this library's tests with real containers (not exported from index.ts): a temporary
 * host (data root, run root, metadata database, overlay snapshotter, busybox bootstrapped into the
 * image store, a runc-through-conmon runtime) and its removal, safe after a failed test; and
 * container records as the store keeps them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentStore } from '@berth/content';
import { ImageStore } from '@berth/images';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { ConmonRuntime } from '@berth/runtime';
import { mountPoints, OverlaySnapshotter, unmount } from '@berth/snapshots';
import { createdState } from './state.js';
import type { ContainerRecord } from './types.js';

export interface TestHost {
  dataRoot: string;
  runRoot: string;
  db: MetadataDb;
  snapshotter: OverlaySnapshotter;
  /** The image store, busybox in it. */
  images: ImageStore;
}

/** A temporary host named `berth-<name>-…` with busybox in its image store. */
export async function openTestHost(name: string): Promise<TestHost> {
  const dataRoot = await mkdtemp(join(tmpdir(), `berth-${name}-`));
  const runRoot = await mkdtemp(join(tmpdir(), `berth-${name}-run-`));
  const db = openMetadataDb(join(dataRoot, 'metadata.db'));
  const snapshotter = new OverlaySnapshotter(join(dataRoot, 'snapshots'));
  const images = new ImageStore({ db, content: new ContentStore(join(dataRoot, 'content')), snapshotter });
  await images.bootstrap('busybox');
  return { dataRoot, runRoot, db, snapshotter, images };
}

/** A runtime over the host's roots (each one sees the same containers). */
export function testRuntime(host: Pick<TestHost, 'dataRoot' | 'runRoot'>): ConmonRuntime {
  return new ConmonRuntime({
    root: join(host.runRoot, 'runc'),
    exitDir: join(host.runRoot, 'exits'),
    persistDir: join(host.dataRoot, 'conmon'),
    socketDir: join(host.runRoot, 'sockets'),
  });
}

/**
 * The safety net after a file's tests: every container the runtime still knows force-deleted, every
 * mount under the roots unmounted (deepest first), the stores closed and the roots deleted.
 */
export async function removeTestHost(host: TestHost | undefined): Promise<void> {
  if (!host) return;
  const runtime = testRuntime(host);
  // a container already gone, or a runtime that cannot list: the mounts and roots still go below
  for (const c of await runtime.list().catch(() => [])) await runtime.delete(c.id, { force: true }).catch(() => {});
  const mounts = (await mountPoints()).map((m) => m.target).filter((m) => m.startsWith(host.dataRoot) || m.startsWith(host.runRoot));
  for (const m of mounts.reverse()) await unmount(m).catch(() => {}); // a parent's unmount took it already
  host.snapshotter.close();
  host.db.close();
  await rm(host.dataRoot, { recursive: true, force: true });
  await rm(host.runRoot, { recursive: true, force: true });
}

/** A container record as the store keeps one: created, never started, its fields replaced by `overrides`. */
export function testRecord(id: string, overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    Id: id,
    Name: `/${id}`,
    Created: '2026-11-22T10:00:00Z',
    Image: 'sha256:img',
    ImageRef: 'busybox',
    Path: 'true',
    Args: [],
    Config: {} as ContainerRecord['Config'],
    HostConfig: {} as ContainerRecord['HostConfig'],
    State: createdState(),
    RestartCount: 0,
    SnapshotKey: id,
    BundleDir: '',
    LogPath: '',
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    ManuallyStopped: false,
    HasBeenStartedBefore: false,
    ...overrides,
  };
}
