import { chmodSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { channelOptions, grpcTarget, RegistryService, type RegistryServer } from '@berth/proto';

export interface AdminServer {
  /** The bound address: `unix:/path`, or `host:port` with the port actually chosen for port 0. */
  address: string;
  close(): Promise<void>;
}

/**
 * Serves the Registry admin service on `address` (`unix:/run/berth/registry.sock`,
 * `127.0.0.1:7002`, port 0 for a free one). A stale unix socket file is replaced.
 */
export async function serveAdmin(address: string, service: RegistryServer): Promise<AdminServer> {
  const server = new grpc.Server(channelOptions);
  server.addService(RegistryService, service);
  const target = grpcTarget(address);
  if (target.startsWith('unix:')) rmSync(target.slice('unix:'.length), { force: true });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  // The admin API can delete anything: root only (the gateway also checks the socket is root's).
  if (target.startsWith('unix:')) chmodSync(target.slice('unix:'.length), 0o600);
  const bound = target.startsWith('unix:') ? target : `${target.slice(0, target.lastIndexOf(':'))}:${port}`;
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
