import * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { BuilderDirectory, ClusterStore, ComposeProjectStore, EventBus, HostRegistry, LeaseBucket, PlacementLedger, RegistryDirectory } from '@berth/events';
import { parseTimeArg } from '@berth/filters';
import { clusterContainersService, type NodeView } from './cluster-containers.js';
import { clusterChannelCredentials, type ClusterTlsFiles } from './cluster-credentials.js';
import { clusterImagesService, clusterNetworksService, clusterVolumesService } from './cluster-objects.js';
import { OverlayNetworkKeeper } from './overlay-networks.js';
import { ClusterRouter } from './cluster-router.js';
import { composeService } from './compose-service.js';
import { GatewayLease } from './gateway-lease.js';
import { clusterMoveOps } from './container-move.js';
import { NodeDrainer } from './node-drain.js';
import { NodeKeeper } from './node-keeper.js';
import { nodesService } from './nodes-service.js';
import { reschedulingEvents } from './rescheduling.js';
import {
  BuilderService,
  ComposeService,
  ContainersService,
  EventsService,
  ImagesService,
  NetworksService,
  NodesService,
  RegistryService,
  SystemService,
  VolumesService,
  channelOptions,
  forwardService,
  rawDefinition,
  grpcTarget,
  handleServerStream,
  handleUnary,
  type AgentAnnouncement,
  type BuilderAnnouncement,
  type DfRequest,
  type DfResponse,
  type Event,
  type RegistryAnnouncement,
  type SubscribeEventsRequest,
} from '@berth/proto';
import { ServiceDirectory } from './service-directory.js';
import { SharedReservations } from './shared-reservations.js';
import { silentLogger, warnOnFailure, type Logger } from '@berth/log';

export interface GatewayOptions {
  log?: Logger;
  /** This gateway's name in the cluster duties' lease (default: hostname/pid/random). */
  id?: string;
  /**
   * The cluster CA and the gateway's client certificate (libs/platform cluster-ca.ts): agents and
   * builders announced at TCP addresses (on other machines) are reached over mutual TLS with them.
   */
  clusterTls?: ClusterTlsFiles;
  /** `node rm` also lets the host's keys out of NATS (libs/platform revokeJoinedHost), on the first host's gateway. */
  revokeHost?: (hostId: string) => Promise<void>;
  /** Whether a certificate (by serial) is revoked: an agent or builder showing one is refused (certificate-revocations.ts). */
  revoked?: (serial: string) => boolean;
}

/**
 * The gateway's channels to the services (agents, builders, registries) try to connect again at most
 * 2 s apart: grpc-js's default backoff grows to 2 minutes while a host is down, and every call in
 * the meantime fails at once, so a host back from a restart (its node record `ready` again) went
 * unanswered through this gateway for up to that long.
 */
const serviceChannelOptions: grpc.ChannelOptions = { ...channelOptions, 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 2_000 };

/**
 * The gateway: one gRPC API for clients and the other services, over every host of the cluster
 * (docs/dev/cluster.md); several may run on the same NATS, any of them serves the whole cluster (the
 * state is in JetStream KV) and the one holding the cluster duties' lease (gateway-lease.ts) also
 * finds lost hosts, reschedules and drains. Containers, Images, Volumes and Networks go to the host of the object they
 * name or fan out (cluster-containers.ts, cluster-objects.ts); creates are placed (placement.ts);
 * System, builds and pulls go to the pinned node or the most recently started agent; Nodes and the
 * detection of lost hosts are the node keeper's (node-keeper.ts); Events are read from JetStream here.
 *
 * NATS is for discovery and events only: the hosts, registries and builders read from it are kept
 * in memory (service-directory.ts), so every call but `events` (builds included) keeps working
 * while NATS is down, and an entry is used only when its address is a root-owned unix socket, or
 * a TCP one spoken to over mutual TLS with the cluster's certificates (`clusterTls`).
 */
export class Gateway {
  private readonly events: EventBus;
  private readonly hosts: ServiceDirectory<AgentAnnouncement>;
  private readonly registries: ServiceDirectory<RegistryAnnouncement>;
  private readonly builders: ServiceDirectory<BuilderAnnouncement>;
  private readonly composeProjects: ComposeProjectStore;
  private readonly clients = new Map<string, grpc.Client>();
  private readonly router: ClusterRouter;
  private readonly cluster: ClusterStore;
  private readonly overlay: OverlayNetworkKeeper;
  private readonly nodes: NodeKeeper;
  private readonly lease: GatewayLease;
  private readonly ledger: PlacementLedger;
  private readonly nodeView: NodeView;
  private readonly log: Logger;
  private readonly clusterTls?: GatewayOptions['clusterTls'];
  private readonly revokeHost?: GatewayOptions['revokeHost'];
  private readonly revoked?: GatewayOptions['revoked'];
  private readonly announcedHosts = new Map<string, string>();
  private readonly refusedSerials = new Set<string>();
  private connected = true;

  constructor(
    private readonly nc: NatsConnection,
    options: GatewayOptions = {},
  ) {
    const log = options.log ?? silentLogger;
    this.events = new EventBus(nc);
    const connected = () => this.connected && !nc.isClosed();
    this.clusterTls = options.clusterTls;
    this.revokeHost = options.revokeHost;
    this.revoked = options.revoked;
    const clusterTls = options.clusterTls !== undefined;
    // Which host each address is announced by: a TCP peer must show that host's certificate.
    const noted = (address: string, hostId: string) => (this.announcedHosts.set(address, hostId), address);
    this.hosts = ServiceDirectory.of(new HostRegistry(nc), { id: (h) => `host ${h.hostId}`, address: (h) => noted(h.address, h.hostId), connected, clusterTls, log });
    this.registries = ServiceDirectory.of(new RegistryDirectory(nc), { id: (r) => `registry ${r.id}`, address: (r) => r.grpcAddress, connected, log });
    this.builders = ServiceDirectory.of(new BuilderDirectory(nc), {
      id: (b) => `builder of host ${b.hostId}`,
      address: (b) => noted(b.address, b.hostId),
      connected,
      clusterTls,
      log,
    });
    this.composeProjects = new ComposeProjectStore(nc);
    this.log = log;
    this.router = new ClusterRouter(this.hosts, (address) => this.client(address));
    this.cluster = new ClusterStore(nc);
    // Several gateways may run (docs/dev/cluster.md): the one holding this lease does the cluster duties.
    this.lease = new GatewayLease(new LeaseBucket(nc), { log, id: options.id });
    // Placements in progress, this gateway's and (KV `reservations`, reservation.<host>) the others'.
    this.ledger = new PlacementLedger(nc);
    const reservations = new SharedReservations(this.ledger, { by: this.lease.holder.holder, log });
    const nodes = () => this.nodes;
    this.nodeView = {
      refresh: (ids: string[]) => nodes().refresh(ids),
      availability: (id: string) => nodes().availability(id),
      ready: (id: string) => nodes().ready(id),
      labels: (h: AgentAnnouncement) => nodes().labels(h),
      known: () => nodes().known(),
      reservations,
    };
    // Moving containers off a lost host (rescheduling.ts) or a drained one (node-drain.ts): one implementation, container-move.ts.
    const ops = clusterMoveOps({ router: this.router, store: this.cluster, nodes: this.nodeView, log });
    const drainer = new NodeDrainer({ router: this.router, store: this.cluster, keeper: nodes, ops, log });
    this.overlay = new OverlayNetworkKeeper(this.router, this.cluster, log);
    const events = {
      ...reschedulingEvents({ router: this.router, store: this.cluster, ops, log }),
      onDrain: (hostId: string, o?: { ifIdle?: boolean }) => drainer.drain(hostId, o),
      onReady: (h: AgentAnnouncement) => this.overlay.ensureOn(h),
    };
    this.nodes = new NodeKeeper(this.router, this.cluster, events, log, this.lease);
    void this.watchConnection();
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.connected = false;
      if (s.type === 'reconnect') this.connected = true;
    }
  }

  /** Registers every service on the server. */
  register(server: grpc.Server): void {
    const pick = (_method: string, call: { metadata: grpc.Metadata }) => this.agentClient(call.metadata);
    // Many hosts, one view (docs/dev/cluster.md): calls go to the host of the object they name,
    // lists fan out, creates are placed; the node keeper finds lost hosts and reschedules.
    const router = this.router;
    server.addService(ImagesService, clusterImagesService(router));
    server.addService(ContainersService, clusterContainersService({ router, store: this.cluster, nodes: this.nodeView, log: this.log }));
    server.addService(SystemService, { ...forwardService(SystemService, pick), df: handleUnary((request, call) => this.df(request, call.metadata)) });
    server.addService(VolumesService, clusterVolumesService(router));
    server.addService(NetworksService, clusterNetworksService(router, this.overlay));
    server.addService(NodesService, nodesService(router, this.nodes, this.revokeHost ? { revoke: (hostId) => this.revokeAndDisconnect(hostId) } : {}));
    // Builds go to the image builder of the host placement picks (apps/builder, one per host), as
    // bytes: the gateway reads nothing of a build's messages, so it decodes and encodes none.
    const builderService = rawDefinition(BuilderService);
    server.addService(builderService, forwardService(builderService, (_m, call) => this.builderClient(10_000, call.metadata)));
    // The registry's admin API, forwarded to the registry announced in the `registries` bucket.
    server.addService(RegistryService, forwardService(RegistryService, () => this.registryClient()));
    // Declared Compose projects (`compose up -d`), kept here in NATS KV for the compose watcher.
    server.addService(ComposeService, composeService(this.composeProjects));
    server.addService(EventsService, {
      subscribe: handleServerStream<SubscribeEventsRequest, Event>((request, call) => {
        const controller = new AbortController();
        call.on('cancelled', () => controller.abort());
        return this.events.subscribe({
          since: request.since ? parseTimeArg(request.since) : undefined,
          until: request.until ? parseTimeArg(request.until) : undefined,
          filters: request.filters,
          signal: controller.signal,
        });
      }),
    });
  }

  /** Whether this gateway holds the lease of the cluster duties now (gateway-lease.ts). */
  leads(): boolean {
    return this.lease.held();
  }

  async start(): Promise<void> {
    await this.events.ensureStream();
    // Before the first tick: a lone gateway leads from its start (a restarted one's lapsed lease aside).
    await this.lease.tick();
    this.lease.start();
    this.nodes.start();
    // The buckets of the ledger and of the name claims made now, not by the first create that needs
    // them (a stream of 3 replicas takes a while in a new cluster, and two gateways making it at once,
    // one is refused).
    await Promise.all([
      this.ledger.open().catch((err: unknown) => this.log.warn({ err }, 'Cannot open the placements in progress in NATS KV yet: the first placement opens it')),
      this.cluster.openNameClaims().catch((err: unknown) => this.log.warn({ err }, 'Cannot open the container name claims in NATS KV yet: the first create opens it')),
    ]);
  }

  private async agentClient(metadata?: grpc.Metadata): Promise<grpc.Client> {
    return this.client((await this.router.defaultHost(metadata)).address);
  }

  /**
   * The builder of the host placement picks (it builds with that host's stores). It waits up to
   * `waitMs` for one (default: up to two renewals of its entry, a builder restarting or an entry
   * replaced meanwhile: a build is long, waiting a little for its builder costs little).
   */
  private async builderClient(waitMs = 10_000, metadata?: grpc.Metadata): Promise<grpc.Client> {
    const { hostId } = await this.router.defaultHost(metadata);
    const builder = await this.builders.pick(waitMs, {
      where: (b) => b.hostId === hostId,
      noneMessage: `No image builder is running on host "${hostId}": start it with \`berth platform up\``,
    });
    return this.client(builder.address);
  }

  /**
   * `system df`: the agent's rows and (`verbose`) objects: images, containers, volumes, with the
   * Build Cache row and records of the host's builder, which owns the build cache (its System.Df).
   * A builder that is not running or does not answer leaves the agent's (empty) ones: df must not
   * fail or wait for want of a builder.
   */
  private async df(request: DfRequest, metadata: grpc.Metadata): Promise<DfResponse> {
    const ask = async (client: grpc.Client) =>
      new Promise<DfResponse>((resolve, reject) => {
        const m = SystemService.df;
        client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, { deadline: Date.now() + 30_000 }, (err, res) =>
          err ? reject(err) : resolve(res!),
        );
      });
    const [agent, builder] = await Promise.all([
      this.agentClient(metadata).then(ask),
      this.builderClient(0, metadata)
        .then(ask)
        .catch(() => undefined), // no builder on the host: df shows no build cache
    ]);
    const cache = builder?.rows.find((r) => r.type === 'Build Cache');
    return {
      ...agent,
      rows: agent.rows.map((r) => (r.type === 'Build Cache' && cache ? cache : r)),
      buildCache: builder?.buildCache ?? agent.buildCache,
    };
  }

  private async registryClient(): Promise<grpc.Client> {
    return this.client((await this.registries.pick(5_000)).grpcAddress);
  }

  /** Whether a peer's certificate is revoked; the first refusal of each is logged (a removed host still announcing itself). */
  private isRevoked(serial: string, address: string): boolean {
    if (!this.revoked?.(serial)) return false;
    if (!this.refusedSerials.has(serial)) {
      this.refusedSerials.add(serial);
      this.log.warn({ address, host: this.announcedHosts.get(address), serial }, 'Refused an agent or builder whose certificate is revoked (its host was removed with node rm)');
    }
    return true;
  }

  /** `node rm`: the host is revoked, and this gateway's connections to it closed (a new one would be refused). */
  private async revokeAndDisconnect(hostId: string): Promise<void> {
    await this.revokeHost?.(hostId);
    for (const [address, host] of this.announcedHosts) {
      if (host !== hostId) continue;
      this.clients.get(address)?.close();
      this.clients.delete(address);
    }
  }

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) {
      // Another machine's agent or builder: mutual TLS, its certificate the cluster CA's, for the
      // address (SAN IP) and the host announced there (cluster-credentials.ts); only addresses the
      // directories trusted get here (endpoint-check.ts).
      const tls = this.clusterTls;
      const credentials =
        !grpcTarget(address).startsWith('unix:') && tls
          ? clusterChannelCredentials(tls, () => this.announcedHosts.get(address), { revoked: (serial) => this.isRevoked(serial, address) })
          : grpc.credentials.createInsecure();
      client = new grpc.Client(grpcTarget(address), credentials, serviceChannelOptions);
      this.clients.set(address, client);
    }
    return client;
  }

  /** Stops the node keeper and gives the lease back (another gateway takes the duties at once). */
  async close(): Promise<void> {
    this.nodes.close();
    await this.lease.close().catch(warnOnFailure(this.log, {}, 'Cannot give back the lease of the cluster duties'));
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
