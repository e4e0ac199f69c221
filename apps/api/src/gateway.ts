import * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { EventBus, HostRegistry, parseTimeArg, RegistryDirectory } from '@berth/events';
import {
  BuilderService,
  ContainersService,
  EventsService,
  ImagesService,
  NetworksService,
  RegistryService,
  SystemService,
  VolumesService,
  channelOptions,
  forwardService,
  grpcTarget,
  handleServerStream,
  handleUnary,
  type AgentAnnouncement,
  type DfResponse,
  type Event,
  type RegistryAnnouncement,
  type SubscribeEventsRequest,
} from '@berth/proto';
import { ServiceDirectory } from './service-directory.js';

export interface GatewayOptions {
  log?: (line: string) => void;
}

/**
 * The gateway: one gRPC API for clients and the other services. Images, Containers and System
 * are forwarded unchanged to the runtime agent of the host placement picks (one host for now: the
 * most recently started agent that announced itself on NATS); Events are read from JetStream here.
 *
 * NATS is for discovery and events only: the hosts and registries read from it are kept in memory
 * (service-directory.ts), so every call but `events` keeps working while NATS is down, and an
 * entry is used only when its address is a root-owned unix socket.
 */
export class Gateway {
  private readonly events: EventBus;
  private readonly hosts: ServiceDirectory<AgentAnnouncement>;
  private readonly registries: ServiceDirectory<RegistryAnnouncement>;
  private readonly clients = new Map<string, grpc.Client>();
  private connected = true;

  constructor(
    private readonly nc: NatsConnection,
    options: GatewayOptions = {},
  ) {
    const log = options.log ?? (() => {});
    this.events = new EventBus(nc);
    const hostRegistry = new HostRegistry(nc);
    const registryDirectory = new RegistryDirectory(nc);
    const connected = () => this.connected && !nc.isClosed();
    this.hosts = new ServiceDirectory({
      list: () => hostRegistry.list(),
      id: (h) => `host ${h.hostId}`,
      address: (h) => h.address,
      startedAt: (h) => h.startedAt,
      connected,
      noneMessage: 'No runtime agent is running: start the platform with `berth platform up`',
      log,
    });
    this.registries = new ServiceDirectory({
      list: async () => (await registryDirectory.list()).filter((r) => r.grpcAddress !== ''),
      id: (r) => `registry ${r.id}`,
      address: (r) => r.grpcAddress,
      startedAt: (r) => r.startedAt,
      connected,
      noneMessage: 'No registry is running: start the platform with `berth platform up` (it runs one)',
      log,
    });
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
    const pick = () => this.agentClient();
    server.addService(ImagesService, forwardService(ImagesService, pick));
    server.addService(ContainersService, forwardService(ContainersService, pick));
    server.addService(SystemService, { ...forwardService(SystemService, pick), df: handleUnary(() => this.df()) });
    server.addService(VolumesService, forwardService(VolumesService, pick));
    server.addService(NetworksService, forwardService(NetworksService, pick));
    server.addService(BuilderService, forwardService(BuilderService, pick));
    // The registry's admin API, forwarded to the registry announced in the `registries` bucket.
    server.addService(RegistryService, forwardService(RegistryService, () => this.registryClient()));
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

  async start(): Promise<void> {
    await this.events.ensureStream();
  }

  private async agentClient(): Promise<grpc.Client> {
    return this.client((await this.hosts.pick(5_000)).address);
  }

  /** The image builder of the host placement picks: the runtime agent's, which builds in-process. */
  private async builderClient(): Promise<grpc.Client> {
    return this.agentClient();
  }

  /**
   * `system df`: the agent's rows (images, containers, volumes) with the Build Cache row of the
   * builder, which owns the build cache. A builder that does not answer leaves the agent's row.
   */
  private async df(): Promise<DfResponse> {
    const ask = async (client: grpc.Client) =>
      new Promise<DfResponse>((resolve, reject) => {
        const m = SystemService.df;
        client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, { deadline: Date.now() + 30_000 }, (err, res) =>
          err ? reject(err) : resolve(res!),
        );
      });
    const agentClient = await this.agentClient();
    const builderClient = await this.builderClient().catch(() => agentClient); // df must not fail for want of a builder
    const [agent, builder] = await Promise.all([
      ask(agentClient),
      // The same service (a builder in the agent) answers once; a builder that fails leaves the agent's row.
      builderClient === agentClient ? undefined : ask(builderClient).catch(() => undefined),
    ]);
    const cache = builder?.rows.find((r) => r.type === 'Build Cache');
    return { rows: agent.rows.map((r) => (r.type === 'Build Cache' && cache ? cache : r)) };
  }

  private async registryClient(): Promise<grpc.Client> {
    return this.client((await this.registries.pick(5_000)).grpcAddress);
  }

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) {
      client = new grpc.Client(grpcTarget(address), grpc.credentials.createInsecure(), channelOptions);
      this.clients.set(address, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
