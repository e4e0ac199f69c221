import { Empty, type NatsConnection } from 'nats';
import { CLUSTER_BUCKET, kvStream, kvSubject } from './subjects.js';
import { streamReplicas } from './stream-replicas.js';

/**
 * The cluster CA's revocation list as published in KV (`cluster`, key `tls.revocations`, JSON): the
 * revoked certificates' serials (what the gateway checks agents' and builders' server certificates
 * against) and the same as a CRL signed by the CA (what the agents' and builders' TLS listeners
 * check client certificates against). Written by the gateway that admits hosts (libs/platform
 * certificate-revocation.ts keeps it on the first host); read by every gateway, agent and builder.
 * Agents and builders may read this one key only, with a direct get (nats-permissions.ts): they
 * cannot read the rest of the gateway's bucket.
 */
export interface RevocationRecord {
  entries: Array<{ serial: string; subject: string; notAfter: string; revokedAt: string }>;
  crl: string;
}

export const REVOCATIONS_KEY = 'tls.revocations';

/** The subject of the direct get of the record (the last message on its key's subject). */
export function revocationsDirectGetSubject(): string {
  return `$JS.API.DIRECT.GET.${kvStream(CLUSTER_BUCKET)}.${kvSubject(CLUSTER_BUCKET, REVOCATIONS_KEY)}`;
}

/** The subject of the `cluster` bucket's stream info: whether it exists (a direct get of a missing stream gets no answer). */
export function clusterStreamInfoSubject(): string {
  return `$JS.API.STREAM.INFO.${kvStream(CLUSTER_BUCKET)}`;
}

/** Connections that have seen the `cluster` bucket exist (it is never removed). */
const bucketSeen = new WeakSet<NatsConnection>();

/** Writes the record (the gateway; the bucket is made when missing, as ClusterStore makes it). */
export async function writeRevocationRecord(nc: NatsConnection, record: RevocationRecord): Promise<void> {
  const kv = await nc.jetstream().views.kv(CLUSTER_BUCKET, { history: 1, replicas: streamReplicas(nc) });
  await kv.put(REVOCATIONS_KEY, new TextEncoder().encode(JSON.stringify(record)));
}

/**
 * The record as stored, undefined when there is none (nothing revoked yet, or no `cluster` bucket
 * yet). Rejects when NATS does not answer within `timeoutMs` (default 2 s).
 */
export async function readRevocationRecord(nc: NatsConnection, options: { timeoutMs?: number } = {}): Promise<RevocationRecord | undefined> {
  const timeout = options.timeoutMs ?? 2_000;
  if (!bucketSeen.has(nc)) {
    // No `cluster` bucket yet (no gateway ever ran): nothing is revoked.
    const info = JSON.parse((await nc.request(clusterStreamInfoSubject(), Empty, { timeout })).string()) as { error?: { code?: number; description?: string } };
    if (info.error?.code === 404) return undefined;
    if (info.error !== undefined) throw new Error(`NATS refused to read the revocation list: ${info.error.code} ${info.error.description ?? ''}`.trim());
    bucketSeen.add(nc);
  }
  const msg = await nc.request(revocationsDirectGetSubject(), Empty, { timeout });
  const status = msg.headers?.code ?? 0;
  if (status === 404) return undefined;
  if (status >= 400) throw new Error(`NATS refused to read the revocation list: ${status} ${msg.headers?.description ?? ''}`.trim());
  const operation = msg.headers?.get('KV-Operation');
  if (operation === 'DEL' || operation === 'PURGE' || msg.data.length === 0) return undefined;
  return JSON.parse(new TextDecoder().decode(msg.data)) as RevocationRecord;
}

/**
 * Reads the record every `intervalMs` and calls `onChange` with it when its CRL differs from the
 * last one seen (also the first time one is found). A failed read (NATS away) or a failing
 * `onChange` is passed to `onError` and tried again at the next interval. `first` resolves once
 * the first read is done (applied, absent or failed); `stop()` ends it.
 */
export function watchRevocationRecord(
  nc: NatsConnection,
  options: { intervalMs: number; onChange: (record: RevocationRecord) => void | Promise<void>; onError: (err: unknown) => void },
): { first: Promise<void>; stop(): void } {
  let last: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      const record = await readRevocationRecord(nc);
      if (record !== undefined && record.crl !== last) {
        await options.onChange(record);
        last = record.crl;
      }
    } catch (err) {
      if (!stopped && !nc.isClosed()) options.onError(err);
    }
    if (!stopped) timer = setTimeout(() => void tick(), options.intervalMs).unref();
  };
  const first = tick();
  return {
    first,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
