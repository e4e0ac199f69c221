import type { NatsConnection } from 'nats';
import { readRevocationRecord, writeRevocationRecord } from '@berth/events';
import type { Logger } from '@berth/log';
import { readRevocationList, revokeIssuedCertificate } from '@berth/platform';

/** How often a gateway reads the revocation list from KV (what another gateway's `node rm` revoked). */
const READ_INTERVAL_MS = 2_000;

/**
 * The cluster CA's revocation list as a gateway uses it: the serials of revoked certificates, which
 * it refuses when an agent or builder shows one (cluster-credentials.ts). The list is the first
 * host's (libs/platform certificate-revocation.ts: `secrets/tls/revoked.json`, `crl.pem`) and is
 * published in KV `revocations`, key `list` (libs/events revocation-record.ts) for the agents'
 * and builders' listeners and for gateways without the first host's secrets.
 *
 * A gateway given the first host's secrets (`--cluster-secrets`) revokes (`revokeHost`, on `node
 * rm`) and publishes its file whenever KV holds another list (a publish that failed while NATS was
 * away is made at its next read). Every gateway reads KV every 2 s; the serials it refuses are the
 * file's and KV's.
 */
export class CertificateRevocations {
  #serials = new Set<string>();
  #timer?: NodeJS.Timeout;
  #stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { secretsDir?: string; log: Logger },
  ) {}

  /** Reads the lists once (and publishes the file's when KV differs), then every 2 s until `stop()`. */
  async start(): Promise<void> {
    await this.#sync();
    const loop = async () => {
      await this.#sync();
      if (!this.#stopped) this.#timer = setTimeout(() => void loop(), READ_INTERVAL_MS).unref();
    };
    this.#timer = setTimeout(() => void loop(), READ_INTERVAL_MS).unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Whether the certificate of serial `serial` (upper-case hex) is revoked. */
  isRevoked(serial: string): boolean {
    return this.#serials.has(serial.toUpperCase());
  }

  /**
   * `node rm` of a token-joined host: the certificate the CA signed for it is revoked and the list
   * published. A host without a recorded certificate (joined on this machine) changes nothing.
   */
  async revokeHost(hostId: string): Promise<void> {
    if (this.options.secretsDir === undefined) return;
    const list = await revokeIssuedCertificate(this.options.secretsDir, hostId);
    if (list === undefined) return;
    for (const e of list.entries) this.#serials.add(e.serial.toUpperCase());
    this.options.log.info({ host: hostId, serial: list.entries.at(-1)?.serial }, "Revoked the removed host's certificate");
    await this.#sync();
  }

  async #sync(): Promise<void> {
    try {
      const file = this.options.secretsDir !== undefined ? readRevocationList(this.options.secretsDir) : undefined;
      let published = await readRevocationRecord(this.nc);
      if (file !== undefined && published?.crl !== file.crl) {
        await writeRevocationRecord(this.nc, file);
        published = file;
      }
      this.#serials = new Set([...(file?.entries ?? []), ...(published?.entries ?? [])].map((e) => e.serial.toUpperCase()));
    } catch (err) {
      if (!this.#stopped && !this.nc.isClosed()) this.options.log.warn({ err }, "Cannot read or publish the cluster CA's revocation list");
    }
  }
}
