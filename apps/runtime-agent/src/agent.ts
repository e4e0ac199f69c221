import { existsSync } from 'node:fs';
import { availableParallelism, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { ContainerManager } from '@berth/containers';
import { ContentStore } from '@berth/content';
import { EventBus, HostRegistry, OverlayEndpointBucket, readHostId, withDeadline } from '@berth/events';
import { ImageStore } from '@berth/images';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { ContainersService, ImagesService, SystemService, handleUnary, type SystemServer } from '@berth/proto';
import { ConmonRuntime, ensureVolatileDir } from '@berth/runtime';
import { OverlaySnapshotter } from '@berth/snapshots';
import { containersService } from './containers-service.js';
import { diskUsageDetails } from './disk-usage.js';
import { secureDataRoot } from './data-root.js';
import { imagesService } from './images-service.js';
import { NetworkManager } from '@berth/network';
import { NetworksService } from '@berth/proto';
import { containerLookup, networksService } from './networks-service.js';
import { VolumesService } from '@berth/proto';
import { VolumeStore } from '@berth/volumes';
import { volumesService } from './volumes-service.js';
import { RegistryTransfer, type RegistryTransferOptions } from './registry-transfer.js';
import { LocalWorker } from '@berth/worker';
import { registerWorkerServices } from './worker-services.js';
import { silentLogger, warnOnFailure, type Logger } from '@berth/log';

export const VERSION = '0.1.0';

export interface AgentOptions {
  dataRoot: string;
  runRoot: string;
  runtime: 'runc' | 'crun';
  /** The address this agent serves on, announced to the gateway. */
  address: string;
  /** Registries reached over plain HTTP / unverified HTTPS besides loopback ones (`host:port`). */
  insecureRegistries?: string[];
  /** The platform's registry and its credentials, used for it when a request carries none. */
  platformRegistry?: RegistryTransferOptions['platformRegistry'];
  /** The node's name in the cluster (`--node-name`); default the machine's hostname. */
  nodeName?: string;
  /** `--node-role`: "manager" (default, `platform up`) or "worker" (`platform join`), for `node.role` constraints. */
  nodeRole?: string;
  /** The node's labels (`--label k=v`), which placement constraints match. */
  labels?: Record<string, string>;
  /** This host's address for overlay networks' VXLAN (`--underlay-address`); default the default route's device's. */
  underlayAddress?: string;
  log?: Logger;
}

/**
 * The runtime agent of one host: the image store and the container manager of `dataRoot`, served
 * over gRPC, with every state change published on NATS and the host announced in the `hosts` bucket.
 *
 * Every directory below the data root is closed to other users (0700, files 0600; see data-root.ts).
 *
 *   <dataRoot>/host-id        this host's id (made once)
 *   <dataRoot>/metadata.db    images, containers (libs/metadata)
 *   <dataRoot>/content/       blobs (libs/content)
 *   <dataRoot>/snapshots/     unpacked layers and container uppers (libs/snapshots)
 *   <dataRoot>/containers/    bundles and logs (libs/containers)
 *   <dataRoot>/volumes/       volumes (libs/volumes)
 *   <runRoot>/                runc state, conmon exit files and sockets; exits/ and persist/ are
 *                             a tmpfs when the run root is not one (exit codes survive a full disk)
 */
export class Agent {
  readonly hostId: string;
  readonly warnings: string[] = [];
  private withdraw?: () => Promise<void>;
  /** Networks, container network namespaces, published ports and DNS of this host (libs/network). */
  network?: NetworkManager;
  /** Named and anonymous volumes of this host (libs/volumes). */
  volumes?: VolumeStore;
  /** What the host's image builder (apps/builder) works through: content, snapshots, leases, images, tasks. */
  worker?: LocalWorker;

  private constructor(
    private readonly options: AgentOptions,
    private readonly nc: NatsConnection,
    private readonly db: MetadataDb,
    readonly images: ImageStore,
    readonly containers: ContainerManager,
    private readonly runtimeName: string,
    private readonly registry: RegistryTransfer,
  ) {
    this.hostId = readHostId(options.dataRoot);
  }

  static async open(options: AgentOptions, nc: NatsConnection): Promise<Agent> {
    const log = options.log ?? silentLogger;
    // Before anything is written: the data root is closed to other users (see data-root.ts).
    const secured = await secureDataRoot(options.dataRoot, options.runRoot);
    for (const c of secured.changed) log.info({ path: c.path, from: c.from.toString(8), to: c.to.toString(8) }, 'Closed to other users');
    // conmon records exit codes there: in memory, so a full data root cannot lose them.
    for (const dir of volatileDirs(options)) {
      if ((await ensureVolatileDir(dir)) === 'kept') log.warn({ path: dir }, 'Not on a tmpfs: exit codes written there are lost if its disk fills');
    }
    const hostId = readHostId(options.dataRoot);
    // The runtime's probe (a throwaway container, 0.5–1.7 s) runs while the event stream and the
    // network are set up: the container manager is the first to need its answer.
    let runtime = new ConmonRuntime(runtimeOptions(options, options.runtime));
    const checking = runtime.checkRuntime();
    checking.catch(() => undefined); // awaited below; this only keeps an early failure of the steps before from leaving it unhandled
    const bus = new EventBus(nc, hostId, { log });
    await bus.ensureStream();
    // Never waits for NATS: while it is down, events are kept and sent when it is back.
    const publish = (type: string, action: string, id: string, attributes: Record<string, string>) => void bus.emit({ type, action, id, attributes });

    const db = openMetadataDb(join(options.dataRoot, 'metadata.db'));
    const content = new ContentStore(join(options.dataRoot, 'content'));
    const snapshotter = new OverlaySnapshotter(join(options.dataRoot, 'snapshots'));
    // The image store asks the container manager which containers use an image (rmi refuses
    // those), and the build worker's leases what a build holds (rmi leaves it); both are created
    // after it, so the callbacks read them lazily.
    let manager: ContainerManager | undefined;
    let worker: LocalWorker | undefined;
    const images = new ImageStore({
      db,
      content,
      snapshotter,
      usedBy: (imageId) => manager?.usedBy(imageId) ?? [],
      held: (resource) => worker?.leaseManager.holds(resource) ?? false,
      onEvent: (e) => publish('image', e.action, e.id, { ...(e.name ? { name: e.name } : {}), ...(e.attributes ?? {}) }),
      log,
    });
    // Volumes in use by a container (any state) are not removed: the manager, made below, knows.
    const volumes = new VolumeStore({
      dataRoot: options.dataRoot,
      db,
      usedBy: (name) => manager?.volumeUsers(name) ?? [],
      onEvent: (e) => publish('volume', e.action, e.name, e.attributes),
    });
    // Bridges, rules and DNS servers are (re)built before containers are reconciled; what no
    // container needs any more is swept after. The tag names this agent's objects on the host.
    const network = await NetworkManager.open({
      db,
      tag: hostId.replace(/-/g, '').slice(0, 8),
      log,
      containers: containerLookup(() => manager),
      onEvent: (e) => publish('network', e.action, e.id, e.attributes),
      // Overlay networks: this host's endpoints published, everybody's followed (NATS KV `overlay`).
      overlay: {
        hostId,
        underlayAddress: options.underlayAddress,
        directory: new OverlayEndpointBucket(nc, { onError: (err) => log.warn({ host: hostId, err }, 'Cannot renew or follow the overlay endpoints on NATS') }),
      },
    });
    const warnings: string[] = [];
    const check = await checking;
    if (!check.ok) {
      warnings.push(check.warning);
      log.warn({ runtime: options.runtime }, check.warning);
      runtime = new ConmonRuntime(runtimeOptions(options, 'runc'));
    }
    manager = new ContainerManager({
      dataRoot: options.dataRoot,
      runRoot: options.runRoot,
      db,
      images,
      snapshotter,
      runtime,
      volumes,
      network,
      // A prune names no container: its event carries only what was reclaimed.
      onEvent: (e) => publish('container', e.action, e.id, e.id ? { ...(e.attributes ?? {}), name: e.name, image: e.image } : (e.attributes ?? {})),
      log,
    });
    await manager.init();
    await network.sweep();
    const registry = new RegistryTransfer({
      images,
      content,
      insecureRegistries: options.insecureRegistries,
      platformRegistry: options.platformRegistry,
      onPush: (e) => publish('image', 'push', e.id, { name: e.name }),
    });
    const agent = new Agent(options, nc, db, images, manager, check.ok ? options.runtime : 'runc', registry);
    agent.warnings.push(...warnings);
    agent.volumes = volumes;
    agent.network = network;
    agent.worker = worker = new LocalWorker({
      dataRoot: options.dataRoot,
      content,
      snapshotter,
      images,
      runtime,
      // The builder's FROM pulls and --push go through the agent's transfers (progress, events, credentials).
      registry: {
        pull: (ref, auth) => registry.pull({ ref, platform: '', allTags: false, registryAuth: auth }),
        push: (ref, auth) => registry.push({ ref, allTags: false, registryAuth: auth }),
      },
      log,
    });
    agent.worker.startSweeper();
    return agent;
  }

  register(server: grpc.Server): void {
    server.addService(ContainersService, containersService(this.containers, { log: this.options.log }));
    server.addService(ImagesService, imagesService(this.images, this.containers, { registry: this.registry, log: this.options.log }));
    server.addService(SystemService, this.systemService());
    if (this.volumes) server.addService(VolumesService, volumesService(this.volumes));
    if (this.network) server.addService(NetworksService, networksService(this.network));
    if (this.worker) registerWorkerServices(server, this.worker);
  }

  /** Announces this host to the gateway now and every HOST_TTL_MS / 3 until `close`. */
  async announce(): Promise<void> {
    const log = this.options.log ?? silentLogger;
    this.withdraw = await new HostRegistry(this.nc).keepAnnounced(
      {
        hostId: this.hostId,
        hostname: this.options.nodeName || hostname(),
        address: this.options.address,
        version: VERSION,
        startedAt: Date.now(),
        node: { labels: this.options.labels ?? {}, cpus: availableParallelism(), memoryBytes: totalmem(), role: this.options.nodeRole ?? 'manager' },
      },
      { onError: (err) => log.warn({ host: this.hostId, err }, "Cannot renew this host's announcement on NATS") },
    );
  }

  async close(): Promise<void> {
    // The gateway stops routing here; while NATS does not answer, the announcement expires by
    // itself (HOST_TTL_MS), so it is not worth holding the stop for.
    const log = this.options.log ?? silentLogger;
    await withDeadline(this.withdraw?.() ?? Promise.resolve(), 1_000, () => new Error('NATS did not answer within 1 s')).catch(
      warnOnFailure(log, { host: this.hostId }, "Cannot withdraw this host's announcement"),
    );
    this.containers.close();
    await this.worker?.close();
    await this.network?.close().catch(warnOnFailure(log, {}, 'Cannot close the network manager'));
    this.db.close();
  }

  /**
   * `system df`'s Containers row as Docker computes it: the writable layers' files (`ps -s` SizeRw)
   * of every container; those of the containers not running, paused or restarting are reclaimable.
   */
  private async containerRow(): Promise<{ type: string; total: number; active: number; size: number; reclaimable: number }> {
    const list = await this.containers.list({ all: true, size: true });
    const active = (state: string) => state === 'running' || state === 'paused' || state === 'restarting';
    const sum = (items: typeof list) => items.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
    return {
      type: 'Containers',
      total: list.length,
      active: list.filter((c) => active(c.State)).length,
      size: sum(list),
      reclaimable: sum(list.filter((c) => !active(c.State))),
    };
  }

  /** `system df`'s Local Volumes row. */
  private async volumeRow(): Promise<{ type: string; total: number; active: number; size: number; reclaimable: number }> {
    const u = (await this.volumes?.usage()) ?? { count: 0, active: 0, size: 0, reclaimable: 0 };
    return { type: 'Local Volumes', total: u.count, active: u.active, size: u.size, reclaimable: u.reclaimable };
  }

  private systemService(): SystemServer {
    return {
      info: handleUnary(async () => {
        // Counts only: the gateway's node keeper asks for this every second (its probe).
        const counts = this.containers.stateCounts();
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        const count = (state: string) => counts.get(state) ?? 0;
        return {
          hostId: this.hostId,
          hostname: this.options.nodeName || hostname(),
          version: VERSION,
          runtime: this.runtimeName,
          warnings: this.warnings,
          dataRoot: this.options.dataRoot,
          containers: total,
          containersRunning: count('running'),
          containersPaused: count('paused'),
          containersStopped: total - count('running') - count('paused'),
          images: (await this.images.list({ all: false })).length,
          kernelVersion: release(),
          cgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
        };
      }),
      df: handleUnary(async ({ verbose }) => {
        const df = await this.images.df();
        return {
          rows: [
            { type: 'Images', total: df.count, active: df.active, size: df.size, reclaimable: df.reclaimable },
            await this.containerRow(),
            await this.volumeRow(),
            // The build cache is the builder's (apps/builder): the gateway puts its row here.
            { type: 'Build Cache', total: 0, active: 0, size: 0, reclaimable: 0 },
          ],
          ...(verbose ? await diskUsageDetails(this) : { images: [], containers: [], volumes: [] }),
          buildCache: [],
        };
      }),
    };
  }
}

/** The run root's directories conmon writes exit codes into (see runtimeOptions). */
function volatileDirs(options: AgentOptions): string[] {
  const { exitDir, persistDir } = runtimeOptions(options, options.runtime);
  return [exitDir, persistDir];
}

function runtimeOptions(options: AgentOptions, runtime: 'runc' | 'crun') {
  return {
    runtime,
    root: join(options.runRoot, runtime),
    exitDir: join(options.runRoot, 'exits'),
    persistDir: join(options.runRoot, 'persist'),
    socketDir: join(options.runRoot, 'sockets'),
  };
}
