import * as grpc from '@grpc/grpc-js';
import {
  BuilderClient,
  channelOptions,
  ContainersClient,
  EventsClient,
  grpcTarget,
  ImagesClient,
  NetworksClient,
  SystemClient,
  VolumesClient,
} from '@berth/proto';

/**
 * The gateway's own gRPC services, as the Docker Engine API calls them: every HTTP endpoint is a
 * translation onto one of these (the same calls `berth` makes), so placement, routing and the
 * agent's checks are never done a second time behind HTTP. They are reached over the gateway's
 * root-only internal socket (or its --listen socket), in the same process.
 */
export interface GatewayClients {
  containers: ContainersClient;
  images: ImagesClient;
  networks: NetworksClient;
  volumes: VolumesClient;
  system: SystemClient;
  events: EventsClient;
  builder: BuilderClient;
  close(): void;
}

export function gatewayClients(address: string): GatewayClients {
  const target = grpcTarget(address);
  const credentials = grpc.credentials.createInsecure();
  const make = <T extends grpc.Client>(Ctor: new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => T): T =>
    new Ctor(target, credentials, channelOptions);
  const clients = {
    containers: make(ContainersClient),
    images: make(ImagesClient),
    networks: make(NetworksClient),
    volumes: make(VolumesClient),
    system: make(SystemClient),
    events: make(EventsClient),
    builder: make(BuilderClient),
  };
  return {
    ...clients,
    close: () => {
      for (const c of Object.values(clients)) c.close();
    },
  };
}
