import type { NatsConnection } from 'nats';
import { openPlatformBucket } from './platform-bucket.js';
import { kvStream, kvSubject, REVOCATIONS_BUCKET } from './subjects.js';

/**
 * The cluster CA's revocation list as published in KV (bucket `revocations`, key `list`, JSON): the
 * revoked certificates' serials (what the gateway checks agents' and builders' server certificates
 * against) and the same as a CRL signed by the CA (what the agents' and builders' TLS listeners
 * check client certificates against). Written by the gateway that admits hosts (libs/platform
 * certificate-revocation.ts keeps it on the first host); read by every gateway, agent and builder.
 * A bucket of its own: agents and builders may read it (one message get, answered by the stream's
 * leader: nats-permissions.ts), and nothing of the gateway's `cluster` bucket.
 */
export interface RevocationRecord {
  entries: Array<{ serial: string; subject: string; notAfter: string; revokedAt: string }>;
  crl: string;
}

export const REVOCATIONS_KEY = 'list';

/** The subject of a message get on the bucket's stream (the last message of the key, asked in the body). */
export function revocationsGetSubject(): string {
  return `$JS.API.STREAM.MSG.GET.${kvStream(REVOCATIONS_BUCKET)}`;
}

/** Writes the record (the gateway; the bucket is made when missing). */
export async function writeRevocationRecord(nc: NatsConnection, record: RevocationRecord): Promise<void> {
  const kv = await openPlatformBucket(nc, REVOCATIONS_BUCKET);
  await kv.put(REVOCATIONS_KEY, new TextEncoder().encode(JSON.stringify(record)));
}

/**
 * The record as stored, undefined when there is none (nothing revoked yet: no bucket, or no key).
 * Rejects when NATS does not answer within `timeoutMs` (default 2 s) or refuses.
 */
export async function readRevocationRecord(nc: NatsConnection, options: { timeoutMs?: number } = {}): Promise<RevocationRecord | undefined> {
  const request = JSON.stringify({ last_by_subj: kvSubject(REVOCATIONS_BUCKET, REVOCATIONS_KEY) });
  const reply = await nc.request(revocationsGetSubject(), new TextEncoder().encode(request), { timeout: options.timeoutMs ?? 2_000 });
  const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { code?: number; description?: string }; message?: { data?: string } };
  // 404: no such stream (no gateway ever revoked anything) or no message on the key.
  if (answer.error?.code === 404) return undefined;
  if (answer.error !== undefined) throw new Error(`NATS refused to read the revocation list: ${answer.error.code} ${answer.error.description ?? ''}`.trim());
  const data = Buffer.from(answer.message?.data ?? '', 'base64');
  // A deleted or purged key leaves an empty marker.
  if (data.length === 0) return undefined;
  return JSON.parse(data.toString('utf8')) as RevocationRecord;
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
