import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator, type NatsConnection, type Subscription } from 'nats';
import { inboxPrefix } from '@berth/events';
import { startJoinResponder } from './join-responder.js';
import { hostAddress } from './nats-cluster.js';
import { natsCaFile, natsTlsOption } from './nats-tls.js';
import { secretsOf } from './platform-secrets.js';
import type { PlatformSettings } from './platform-settings.js';

/**
 * Joins answered by the first host's `platform up --nats-cluster` itself, while its JetStream
 * waits for a quorum. A clustered JetStream elects its metadata leader only once 2 of the servers
 * it knows route to each other, and the services `up` starts after nats-server (the agent, the
 * gateway) need JetStream; but the gateway is what answers joins, so the second server could never
 * join by token. The join exchange is core NATS request/reply and admitting a host (signing its
 * CSR, letting its keys into this nats-server, cluster-admission.ts) touches files only, not
 * JetStream: so `up` answers on `berth.cluster.join` as the gateway's NATS user (the same queue
 * group as the gateway's: a join is answered once) from the moment its nats-server listens until
 * its gateway is up. As a swarm's first manager accepts joins right after `swarm init`.
 * The KV `nats-members` record is written by the gateway once it starts (it reads the same files).
 */
export interface BootstrapJoins {
  close(): Promise<void>;
}

/**
 * Starts answering joins on this first host's nats-server, connecting until it can: a connection
 * made while nats-server reloads its users (as `platform join-token` has it do) was seen refused
 * as unauthorized (docs/dev/cluster.md). `close()` stops it.
 */
export function bootstrapJoins(settings: PlatformSettings, log: (line: string) => void): BootstrapJoins {
  const seed = new TextEncoder().encode(readFileSync(secretsOf(settings.dataRoot).nkeySeedFile('api'), 'utf8').trim());
  let closed = false;
  let nc: NatsConnection | undefined;
  let sub: Subscription | undefined;
  const started = (async () => {
    while (!closed && nc === undefined) {
      try {
        nc = await connect({
          servers: [`nats://${hostAddress(settings)}:${settings.natsPort}`],
          authenticator: nkeyAuthenticator(seed),
          inboxPrefix: inboxPrefix({ role: 'gateway' }),
          name: 'berth-platform-up',
          maxReconnectAttempts: -1,
          ignoreAuthErrorAbort: true,
          timeout: 5_000,
          ...natsTlsOption(natsCaFile(settings)),
        });
      } catch {
        await new Promise((r) => setTimeout(r, 250)); // refused or not listening: `up` is still waiting for JetStream
      }
    }
    if (closed || nc === undefined) return;
    sub = startJoinResponder(nc, {
      firstDataRoot: settings.dataRoot,
      log: {
        info: (fields) => log(`Admitted host ${String(fields.host)} (${String(fields.address)}) into the cluster while JetStream waits for its quorum`),
        warn: (fields) => log(`Refused a host asking to join (${String(fields.address)}): ${(fields.err as Error | undefined)?.message ?? 'unknown error'}`),
      },
    });
  })();
  return {
    close: async () => {
      closed = true;
      await started;
      sub?.unsubscribe();
      // Closed already (its server stopped): nothing is left to drain.
      await nc?.drain().catch(() => undefined);
    },
  };
}
