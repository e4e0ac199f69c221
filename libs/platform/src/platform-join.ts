import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, nkeyAuthenticator } from 'nats';
import { UnavailableError } from '@berth/errors';
import { ensurePlatformSecrets, ensureServiceKey, recordJoinedHost, secretsOf } from './platform-secrets.js';
import type { PlatformSettings } from './platform-settings.js';

/**
 * A host joining a cluster (`berth platform join`, `platformUp({ join })`): on one machine, a host is
 * a data root (its own host id, run root, agent and builder) whose services use the first host's
 * nats-server, registry and gateway.
 *
 *   <dataRoot>/secrets/nats/runtime-agent.nk, builder.nk   this host's own keys (made here, 0600)
 *   <dataRoot>/secrets/registry-auth.json                   the cluster registry's credentials (copied)
 *   <cluster>/secrets/hosts/<hostId>.json                   this host's public keys, which the first
 *                                                           host's nats-server config lets in
 *
 * Across machines the same files would travel with the join (a join token): TODO(#14).
 * @returns whether the first host's nats-server config changed (it must reload it).
 */
export function prepareJoin(settings: PlatformSettings, cluster: PlatformSettings): boolean {
  const own = secretsOf(settings.dataRoot);
  mkdirSync(join(own.dir, 'nats'), { recursive: true, mode: 0o700 });
  const agent = ensureServiceKey(own.nkeySeedFile('runtime-agent'));
  const builder = ensureServiceKey(own.nkeySeedFile('builder'));
  const clusterSecrets = secretsOf(cluster.dataRoot);
  recordJoinedHost(cluster.dataRoot, { hostId: settings.hostId, agent, builder });
  const rewritten = ensurePlatformSecrets(cluster.dataRoot, {
    port: cluster.natsPort,
    storeDir: join(cluster.dataRoot, 'nats'),
    hostId: cluster.hostId,
  });
  if (!existsSync(own.registryAuth) && existsSync(clusterSecrets.registryAuth)) {
    copyFileSync(clusterSecrets.registryAuth, own.registryAuth);
  }
  return rewritten.natsConfigChanged === true;
}

/**
 * Waits until the cluster's nats-server lets this host's agent in (after a reload, nats-server
 * applies its new users asynchronously). UnavailableError after `timeoutMs`.
 */
export async function waitNatsAdmits(settings: PlatformSettings, timeoutMs: number): Promise<void> {
  const seed = new TextEncoder().encode(readFileSync(secretsOf(settings.dataRoot).nkeySeedFile('runtime-agent'), 'utf8').trim());
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const nc = await connect({ servers: `nats://127.0.0.1:${settings.natsPort}`, authenticator: nkeyAuthenticator(seed), reconnect: false, timeout: 2_000 });
      await nc.close();
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new UnavailableError(`The cluster's NATS (127.0.0.1:${settings.natsPort}) does not admit this host's agent: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
