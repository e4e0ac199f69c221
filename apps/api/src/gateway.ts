import * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { ComposeProjectStore, EventBus, HostRegistry, parseTimeArg, RegistryDirectory } from '@berth/events';
import { composeService } from './compose-service.js';
import {
  BuilderService,
  ComposeService,
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
  type Event,
  type SubscribeEventsRequest,
} from '@berth/proto';

/**
 * The gateway: one gRPC API for clients and the other services. Images, Containers and System
 * are forwarded unchanged to the runtime agent of the host placement picks (one host for now: the
 * most recently started agent that announced itself on NATS); Events are read from JetStream here.
 */
export class Gateway {
  private readonly hosts: HostRegistry;
  private readonly events: EventBus;
  private readonly registries: RegistryDirectory;
  private readonly composeProjects: ComposeProjectStore;
  private readonly clients = new Map<string, grpc.Client>();

  constructor(nc: NatsConnection) {
    this.hosts = new HostRegistry(nc);
    this.events = new EventBus(nc);
    this.registries = new RegistryDirectory(nc);
    this.composeProjects = new ComposeProjectStore(nc);
  }

  /** Registers every service on the server. */
  register(server: grpc.Server): void {
    const pick = () => this.agentClient();
    server.addService(ImagesService, forwardService(ImagesService, pick));
    server.addService(ContainersService, forwardService(ContainersService, pick));
    server.addService(SystemService, forwardService(SystemService, pick));
    server.addService(VolumesService, forwardService(VolumesService, pick));
    server.addService(NetworksService, forwardService(NetworksService, pick));
    server.addService(BuilderService, forwardService(BuilderService, pick));
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

  async start(): Promise<void> {
    await this.events.ensureStream();
  }

  private async agentClient(): Promise<grpc.Client> {
    const host = await this.hosts.first(5_000);
    let client = this.clients.get(host.address);
    if (!client) {
      client = new grpc.Client(grpcTarget(host.address), grpc.credentials.createInsecure(), channelOptions);
      this.clients.set(host.address, client);
    }
    return client;
  }

  private async registryClient(): Promise<grpc.Client> {
    const registry = await this.registries.first(5_000);
    let client = this.clients.get(registry.grpcAddress);
    if (!client) {
      client = new grpc.Client(grpcTarget(registry.grpcAddress), grpc.credentials.createInsecure(), channelOptions);
      this.clients.set(registry.grpcAddress, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
