import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { BlobSource, ContentStore } from '@berth/content';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import type { Logger } from '@berth/log';
import type { ImageRecord, ImageStore } from '@berth/images';
import { mountAll, type OverlaySnapshotter, unmount } from '@berth/snapshots';
import { HostCollector } from './host-collector.js';
import { LeaseManager } from './lease-manager.js';
import { runTask, type TaskRuntime } from './run-task.js';
import {
  type BuildWorker,
  type Credentials,
  type Lease,
  type LeaseResource,
  MOUNT_ROOT_LABEL,
  NO_REGISTRY_ACCESS,
  type TaskRequest,
  type TransferEvent,
  type WorkerContent,
  type WorkerImage,
  type WorkerImages,
  type WorkerLeases,
  type WorkerSnapshots,
  type WorkerTasks,
} from './worker.js';

export interface LocalWorkerOptions {
  /** The host's data root: `leases.db` and `tasks/` live here, and lease mount roots must be inside it. */
  dataRoot: string;
  content: ContentStore;
  snapshotter: OverlaySnapshotter;
  images: ImageStore;
  runtime: TaskRuntime;
  /** Pulls and pushes of the host's store (the agent's registry transfers); without it they are refused. */
  registry?: {
    pull(ref: string, auth?: Credentials): AsyncIterable<TransferEvent>;
    push(ref: string, auth?: Credentials): AsyncIterable<TransferEvent>;
  };
  log?: Logger;
}

/**
 * The build worker of this host, in process: thin wrappers over the host's content store,
 * snapshotter, image store and runtime that record what they create under a lease, and the lease
 * manager that removes it when the lease ends. The runtime agent serves it over gRPC; tests and
 * benchmarks use it directly.
 *
 *   <dataRoot>/leases.db      the leases (LeaseManager)
 *   <dataRoot>/tasks/<id>/    a running task's bundle: config.json, step.log, rootfs (mounted)
 */
export class LocalWorker implements BuildWorker {
  readonly leaseManager: LeaseManager;
  readonly content: WorkerContent;
  readonly snapshots: WorkerSnapshots;
  readonly leases: WorkerLeases;
  readonly images: WorkerImages;
  readonly tasks: WorkerTasks;

  constructor(options: LocalWorkerOptions) {
    const { content, snapshotter, images, runtime } = options;
    const tasksDir = join(options.dataRoot, 'tasks');
    const collector = new HostCollector({
      content,
      snapshotter,
      runtime,
      tasksDir,
      mountRoots: [options.dataRoot],
      imageBlobs: async () => {
        const blobs = new Set<string>();
        for (const image of await images.all()) {
          blobs.add(image.manifestDigest);
          blobs.add(image.manifest.config.digest);
          for (const layer of image.manifest.layers) blobs.add(layer.digest);
        }
        return blobs;
      },
    });
    const leases = new LeaseManager({ file: join(options.dataRoot, 'leases.db'), collector, log: options.log });
    this.leaseManager = leases;
    const hold = async (lease: string | undefined, resource: LeaseResource) => {
      if (lease) await leases.addResource(lease, resource);
    };

    this.content = {
      info: (digest) => content.info(digest),
      read: (digest) => content.read(digest),
      createReadStream: (digest) => content.createReadStream(digest),
      async ingest(source: BlobSource, opts = {}) {
        const blob = await content.ingest(source, { expected: opts.expected, size: opts.size });
        try {
          await hold(opts.lease, { type: 'blob', id: blob.digest });
        } catch (err) {
          // The lease is gone: nothing will ever collect this blob unless we do.
          if (!leases.holds({ type: 'blob', id: blob.digest })) await collector.collect({ type: 'blob', id: blob.digest }, new Map());
          throw err;
        }
        return blob;
      },
    };

    this.snapshots = {
      // The lease holds the key before the snapshot exists: a crash in between leaves nothing unheld.
      async prepare(key, opts = {}) {
        await hold(opts.lease, { type: 'snapshot', id: key });
        return snapshotter.prepare(key, opts.parent);
      },
      async view(key, opts = {}) {
        await hold(opts.lease, { type: 'snapshot', id: key });
        return snapshotter.view(key, opts.parent);
      },
      mounts: (key) => snapshotter.mounts(key),
      // The leases of the active snapshot hold the committed one too (first: nothing unheld in
      // between), so that no `rmi` of an image with the same layer removes it while the build
      // that made it stacks on it; their end leaves it (committed).
      async commit(name, key) {
        for (const lease of leases.holders({ type: 'snapshot', id: key })) await hold(lease, { type: 'snapshot', id: name });
        return snapshotter.commit(name, key);
      },
      remove: (key) => snapshotter.remove(key),
      stat: (key) => snapshotter.stat(key),
      list: () => snapshotter.list(),
    };

    const mountRoot = (labels: Record<string, string> | undefined) => {
      const root = labels?.[MOUNT_ROOT_LABEL];
      if (root !== undefined && !normalize(root).startsWith(normalize(options.dataRoot) + sep)) {
        throw new InvalidArgumentError(`Invalid lease label ${MOUNT_ROOT_LABEL}="${root}": expected a directory inside the data root "${options.dataRoot}"`);
      }
    };
    this.leases = {
      create: async (opts = {}): Promise<Lease> => {
        mountRoot(opts.labels);
        return leases.create(opts);
      },
      renew: (id, ttlMs) => leases.renew(id, ttlMs),
      delete: (id) => leases.delete(id),
      addResource: (id, resource) => leases.addResource(id, resource),
      removeResource: (id, resource) => leases.removeResource(id, resource),
      list: () => leases.list(),
    };

    const registry = options.registry;
    this.images = {
      get: async (ref) => workerImage(content, await images.resolve(ref)),
      async register(manifest, opts = {}) {
        const names = opts.names ?? [];
        const record = await images.putImage({
          manifest,
          names,
          layerSizes: opts.layerSizes,
          ...(names.length > 0 ? { action: 'tag' as const } : {}),
        });
        return workerImage(content, record);
      },
      pull(ref, auth) {
        if (!registry) throw new FailedPreconditionError(`Cannot pull "${ref}": this host has no registry access`, { code: NO_REGISTRY_ACCESS });
        return registry.pull(ref, auth);
      },
      push(ref, auth) {
        if (!registry) throw new FailedPreconditionError(`Cannot push "${ref}": this host has no registry access`, { code: NO_REGISTRY_ACCESS });
        return registry.push(ref, auth);
      },
      save: (refs) => images.save(refs),
    };

    this.tasks = {
      async run(request: TaskRequest, opts = {}): Promise<number> {
        const info = await snapshotter.stat(request.snapshot);
        if (info.kind !== 'active') {
          throw new FailedPreconditionError(`Cannot run a task on snapshot "${request.snapshot}": it is ${info.kind}, not active`);
        }
        const id = `build-${randomBytes(12).toString('hex')}`;
        const task: LeaseResource = { type: 'task', id };
        await hold(request.lease, task);
        const bundle = join(tasksDir, id);
        const rootfs = join(bundle, 'rootfs');
        try {
          // Only root reads the bundle: its config.json holds the step's environment (a secret's `env=` too).
          await mkdir(tasksDir, { recursive: true });
          await mkdir(bundle, { mode: 0o700 });
          await mkdir(rootfs);
          await mountAll(await snapshotter.mounts(request.snapshot), rootfs);
          try {
            return await runTask(runtime, {
              id,
              bundle,
              rootfs,
              args: request.args,
              env: request.env,
              ...(request.cwd ? { cwd: request.cwd } : {}),
              ...(request.user ? { user: request.user } : {}),
              ...(request.script ? { script: request.script } : {}),
              mounts: request.mounts ?? [],
              network: request.network ?? 'host',
              ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
              ...(opts.signal ? { signal: opts.signal } : {}),
            });
          } finally {
            await unmount(rootfs);
          }
        } finally {
          await rm(bundle, { recursive: true, force: true });
          if (request.lease) {
            // An expired lease has been (or is being) collected with the task in it.
            await leases.removeResource(request.lease, task).catch(() => undefined);
          }
        }
      },
    };
  }

  /** Ends expired leases now and every `intervalMs` (the agent: every second). */
  startSweeper(intervalMs = 1000): void {
    this.leaseManager.startSweeper(intervalMs);
  }

  async close(): Promise<void> {
    await this.leaseManager.close();
  }
}

async function workerImage(content: ContentStore, record: ImageRecord): Promise<WorkerImage> {
  const [manifest, config] = await Promise.all([content.read(record.manifestDigest), content.read(record.manifest.config.digest)]);
  return { id: record.id, manifestDigest: record.manifestDigest, manifest, config, names: record.names, created: record.created };
}

