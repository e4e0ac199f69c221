import type { FastifyInstance } from 'fastify';
import type { Logger } from '@berth/log';
import { PendingAttaches } from './pending-attaches.js';
import { gatewayClients } from './gateway-clients.js';
import { dockerApiApp, listenDockerApi } from './server.js';

/**
 * Starts the Docker Engine API on the unix socket `path`, translating onto the gateway's gRPC
 * services at `gatewayAddress` (its internal socket). Resolves with a close function.
 */
export async function startDockerApi(
  path: string,
  options: { gatewayAddress: string; gid?: number; log: Logger; platformRegistry?: string },
): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const clients = gatewayClients(options.gatewayAddress);
  const app = dockerApiApp({ clients, log: options.log, execs: new Map(), attaches: new PendingAttaches(clients.containers), upgrades: [], platformRegistry: options.platformRegistry });
  await listenDockerApi(app, path, { gid: options.gid });
  return {
    app,
    close: async () => {
      await app.close();
      clients.close();
    },
  };
}
