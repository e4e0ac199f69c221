import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator, type NatsConnection } from 'nats';
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
  /** Where replies to this connection go; must match its permissions (`inboxPrefix()`). */
  inboxPrefix?: string;
  /** Told when the connection drops and comes back (warn, then info). */
  log?: Logger;
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
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: servers.split(',').map((s) => s.trim()).filter(Boolean),
      noRandomize: true,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(seed ? { authenticator: nkeyAuthenticator(seed) } : {}),
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
