import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, nkeyAuthenticator } from 'nats';
import { UnavailableError } from '@berth/errors';
import { ensurePlatformSecrets, ensureServiceKey, recordJoinedHost, secretsOf } from './platform-secrets.js';
import { hostAddress, natsClusterServers } from './nats-cluster.js';
import { natsCaFile, natsTlsOption } from './nats-tls.js';
import type { PlatformSettings } from './platform-settings.js';

/**
 * A host joining a cluster (`berth platform join`, `platformUp({ join })`): on one machine, a host is
 * a data root (its own host id, run root, agent and builder; in a NATS cluster its own nats-server
 * too, nats-cluster.ts) whose services use the first host's registry and gateway.
 *
 *   <dataRoot>/secrets/nats/runtime-agent.nk, builder.nk   this host's own keys (made here, 0600)
 *   <dataRoot>/secrets/registry-auth.json                   the cluster registry's credentials (copied)
 *   <cluster>/secrets/hosts/<hostId>.json                   this host's public keys, which the first
 *                                                           host's nats-server config lets in
 *
 * Across machines the same files travel with a join token instead (cluster-join.ts).
 * @returns whether the first host's nats-server config changed (it must reload it).
 */
export function prepareJoin(settings: PlatformSettings, cluster: PlatformSettings): boolean {
  const own = secretsOf(settings.dataRoot);
  mkdirSync(join(own.dir, 'nats'), { recursive: true, mode: 0o700 });
  const agent = ensureServiceKey(own.nkeySeedFile('runtime-agent'));
  const builder = ensureServiceKey(own.nkeySeedFile('builder'));
  const clusterSecrets = secretsOf(cluster.dataRoot);
  recordJoinedHost(cluster.dataRoot, { hostId: settings.hostId, dataRoot: settings.dataRoot, agent, builder });
  // In a NATS cluster every server's config is rewritten by the caller (nats-cluster.ts).
  const rewritten =
    cluster.natsRoutePort === undefined &&
    ensurePlatformSecrets(cluster.dataRoot, { port: cluster.natsPort, host: hostAddress(cluster), storeDir: join(cluster.dataRoot, 'nats'), hostId: cluster.hostId })
      .natsConfigChanged === true;
  if (!existsSync(own.registryAuth) && existsSync(clusterSecrets.registryAuth)) {
    copyFileSync(clusterSecrets.registryAuth, own.registryAuth);
  }
  return rewritten;
}

/**
 * Waits until the cluster's nats-server lets this host's agent in (after a reload, nats-server
 * applies its new users asynchronously): the first host's, or in a NATS cluster any other host's
 * (the first host's may be the one that is down). UnavailableError after `timeoutMs`.
 */
export async function waitNatsAdmits(settings: PlatformSettings, cluster: PlatformSettings, timeoutMs: number): Promise<void> {
  const servers =
    cluster.natsRoutePort === undefined
      ? [`${hostAddress(cluster)}:${cluster.natsPort}`]
      : natsClusterServers(cluster.dataRoot)
          .filter((s) => s.hostId !== settings.hostId)
          .map((s) => `${s.address}:${s.port}`);
  await waitNatsKeyAdmitted(servers.map((s) => `nats://${s}`), secretsOf(settings.dataRoot).nkeySeedFile('runtime-agent'), { timeoutMs, caFile: natsCaFile(settings) });
}

/**
 * Waits until one of the nats-servers `urls` lets the key of `seedFile` in (after a reload,
 * nats-server applies its new users asynchronously), over TLS with `caFile` when given.
 * UnavailableError after `timeoutMs`.
 */
export async function waitNatsKeyAdmitted(urls: string[], seedFile: string, options: { timeoutMs: number; caFile: string | undefined }): Promise<void> {
  const { timeoutMs } = options;
  const seed = new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim());
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const nc = await connect({ servers: urls, authenticator: nkeyAuthenticator(seed), reconnect: false, timeout: 2_000, ...natsTlsOption(options.caFile) });
      await nc.close();
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new UnavailableError(`The cluster's NATS (${urls.join(', ')}) does not admit this host's agent: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
