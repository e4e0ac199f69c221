import { readFileSync } from 'node:fs';
import type { NatsConnection } from 'nats';
import { watchRevocationRecord } from '@berth/events';
import type { Logger } from '@berth/log';
import { checkCrl } from './certificate-revocation.js';
import type { TlsListener } from './tls-listen.js';

/** How often an agent or builder reads the revocation list: a revoked client is refused this long after `node rm` at most. */
export const LISTENER_REVOCATIONS_INTERVAL_MS = 5_000;

/**
 * Keeps an agent's or builder's TCP listener refusing the client certificates the cluster CA
 * revoked: the CRL published in KV (libs/events revocation-record.ts) is read now and every
 * `intervalMs`, checked against the CA of `caFile` (a CRL OpenSSL could not verify would refuse
 * every client: it is logged and left out) and handed to the listener. Resolves after the first
 * read, so a listener bound afterwards starts with it; `stop()` ends the reading.
 */
export async function keepListenerRevocations(
  nc: NatsConnection,
  listener: TlsListener,
  options: { caFile: string; log: Logger; intervalMs?: number },
): Promise<{ stop(): void }> {
  const ca = readFileSync(options.caFile, 'utf8');
  const watch = watchRevocationRecord(nc, {
    intervalMs: options.intervalMs ?? LISTENER_REVOCATIONS_INTERVAL_MS,
    onChange: async (record) => {
      await checkCrl(record.crl, ca);
      listener.useCrl(record.crl);
      options.log.info({ listen: listener.address, revoked: record.entries.length }, 'The TCP listener refuses the revoked certificates of the cluster CA');
    },
    onError: (err) => options.log.warn({ listen: listener.address, err }, "Cannot read or use the cluster CA's revocation list"),
  });
  await watch.first;
  return watch;
}
