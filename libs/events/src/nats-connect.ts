import { readFileSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { connect, nkeyAuthenticator, type NatsConnection, type TlsOptions } from 'nats';
import { PermissionDeniedError, UnavailableError } from '@berth/errors';
import type { Logger } from '@berth/log';

export interface NatsConnectOptions {
  /** The connection's name, as nats-server logs it (e.g. `berth-api`). */
  name: string;
  /**
   * The file holding this service's nkey seed (`SU…`, made at `platform up`, 0600 root). Without it
   * the connection is anonymous, which the platform's nats-server refuses (tests' bare servers accept it).
   */
  nkeySeedFile?: string;
  /**
   * The CA file (PEM) the servers' TLS certificates must chain to (`--nats-ca`): the connection is
   * TLS, the server's certificate checked against it and against the server's address, before
   * anything (the nkey signature) is sent. Without it the connection is plain TCP.
   */
  caFile?: string;
  /** Where replies to this connection go; must match its permissions (`inboxPrefix()`). */
  inboxPrefix?: string;
  /** Told when the connection drops and comes back (warn, then info). */
  log?: Logger;
}

/**
 * The NATS flags every platform service takes, for node:util `parseArgs` (spread into its options):
 * `--nats` (one URL or several, comma-separated), `--nats-nkey` (the file holding the service's nkey
 * seed, made by `berth platform up`, 0600) and `--nats-ca` (the CA, PEM, the NATS servers' TLS
 * certificates chain to: the connection is TLS, libs/platform nats-tls.ts).
 */
export const natsFlagOptions = {
  nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
  'nats-nkey': { type: 'string' },
  'nats-ca': { type: 'string' },
} as const;

/** The values of {@link natsFlagOptions} as `parseArgs` gives them. */
export interface NatsFlags {
  nats?: string;
  'nats-nkey'?: string;
  'nats-ca'?: string;
}

/** {@link connectNats} to the servers, with the credentials and CA, that a service's NATS flags name. */
export function connectNatsForFlags(flags: NatsFlags, options: Omit<NatsConnectOptions, 'nkeySeedFile' | 'caFile'>): Promise<NatsConnection> {
  return connectNats(flags.nats ?? natsFlagOptions.nats.default, { ...options, nkeySeedFile: flags['nats-nkey'], caFile: flags['nats-ca'] });
}

/**
 * nats.js's `tls` option for servers whose certificates chain to `ca` (PEM). nats.js gives Node no
 * server name for a server named by its IP address (`nats://10.0.0.1:4222`: an IP is no SNI name),
 * and Node then checks the certificate against "localhost"; this checks it against the address the
 * socket is connected to instead (the certificates of the platform's nats-servers name their IP,
 * libs/platform nats-tls.ts). Node calls `checkServerIdentity` as a method of its connect options,
 * which hold that socket; without them the check fails (closed, not open).
 */
export function natsTlsOptions(ca: string): TlsOptions {
  const options = {
    ca,
    checkServerIdentity(this: { servername?: string; socket?: Socket } | undefined, host: string, cert: PeerCertificate): Error | undefined {
      const address = this?.socket?.remoteAddress;
      return checkServerIdentity(!this?.servername && address !== undefined && isIP(address) !== 0 ? address : host, cert);
    },
  };
  return options as TlsOptions;
}

/**
 * Connects to NATS as one of the platform's services: authenticated by nkey, reconnecting forever
 * (a service keeps running while NATS is down and picks up again when it returns). `servers` is one
 * URL or several, comma-separated (a NATS cluster's, this host's own first): they are tried in that
 * order, and a service whose server dies reconnects to the next that answers.
 */
export async function connectNats(servers: string, options: NatsConnectOptions): Promise<NatsConnection> {
  let seed: Uint8Array | undefined;
  if (options.nkeySeedFile !== undefined) {
    try {
      seed = new TextEncoder().encode(readFileSync(options.nkeySeedFile, 'utf8').trim());
    } catch (err) {
      throw new PermissionDeniedError(`Cannot read the NATS credentials "${options.nkeySeedFile}": ${(err as Error).message}`, { cause: err });
    }
  }
  let ca: string | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile, 'utf8');
    } catch (err) {
      throw new PermissionDeniedError(`Cannot read the NATS CA "${options.caFile}": ${(err as Error).message}`, { cause: err });
    }
  }
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: servers.split(',').map((s) => s.trim()).filter(Boolean),
      noRandomize: true,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(seed ? { authenticator: nkeyAuthenticator(seed) } : {}),
      ...(ca !== undefined ? { tls: natsTlsOptions(ca) } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    });
  } catch (err) {
    throw new UnavailableError(`Cannot connect to NATS at ${servers}: ${(err as Error).message}`, { cause: err });
  }
  const log = options.log;
  if (log) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') log.warn({ nats: servers }, 'NATS connection lost, reconnecting');
        else if (s.type === 'reconnect') log.info({ nats: servers }, 'NATS connection back');
        else if (s.type === 'error') log.warn({ nats: servers, err: String(s.data) }, 'NATS error');
      }
    })();
  }
  return nc;
}
