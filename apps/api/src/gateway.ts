import * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { BuilderDirectory, EventBus, HostRegistry, parseTimeArg, RegistryDirectory } from '@berth/events';
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
  private readonly builders: BuilderDirectory;
  private readonly clients = new Map<string, grpc.Client>();

  constructor(nc: NatsConnection) {
    this.hosts = new HostRegistry(nc);
    this.events = new EventBus(nc);
    this.registries = new RegistryDirectory(nc);
    this.builders = new BuilderDirectory(nc);
  }

  /** Registers every service on the server. */
  register(server: grpc.Server): void {
    const pick = () => this.agentClient();
    server.addService(ImagesService, forwardService(ImagesService, pick));
    server.addService(ContainersService, forwardService(ContainersService, pick));
    server.addService(SystemService, forwardService(SystemService, pick));
    server.addService(VolumesService, forwardService(VolumesService, pick));
    server.addService(NetworksService, forwardService(NetworksService, pick));
    // Builds go to the image builder of the host placement picks (apps/builder, one per host).
    server.addService(BuilderService, forwardService(BuilderService, () => this.builderClient()));
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
    const host = await this.hosts.first(5_000);
    let client = this.clients.get(host.address);
    if (!client) {
      client = new grpc.Client(grpcTarget(host.address), grpc.credentials.createInsecure(), channelOptions);
      this.clients.set(host.address, client);
    }
    return client;
  }

  private async builderClient(): Promise<grpc.Client> {
    const builder = await this.builders.get((await this.hosts.first(5_000)).hostId);
    let client = this.clients.get(builder.address);
    if (!client) {
      client = new grpc.Client(grpcTarget(builder.address), grpc.credentials.createInsecure(), channelOptions);
      this.clients.set(builder.address, client);
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
