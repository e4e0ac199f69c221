import { readFileSync } from 'node:fs';
import { grpcTarget } from '@berth/proto';
import { StatusError } from './cli-errors.js';
import type { CommandContext } from './context.js';

/** How to reach the gateway: its gRPC address, and on TCP the TLS files' contents. */
export interface GatewayTarget {
  /** `unix:/path` or `host:port` (libs/proto grpcTarget). */
  address: string;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

/**
 * The gateway of this command: a unix socket as is; TCP only with TLS and a client certificate
 * (`--tlsverify --tlscacert --tlscert --tlskey`, or BERTH_TLS_VERIFY + BERTH_CERT_PATH), which the
 * gateway demands. Both transports (clients.ts for grpc-js, unary-clients.ts) start here.
 */
export function gatewayTarget(ctx: CommandContext): GatewayTarget {
  const address = grpcTarget(ctx.host);
  if (ctx.tls) {
    const read = (flag: string, file: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new StatusError(`Cannot read ${flag} "${file}": ${(err as Error).message}`, 1);
      }
    };
    return { address, tls: { ca: read('--tlscacert', ctx.tls.ca), key: read('--tlskey', ctx.tls.key), cert: read('--tlscert', ctx.tls.cert) } };
  }
  if (!address.startsWith('unix:')) {
    throw new StatusError(
      `Cannot connect to the Berth platform at ${ctx.host} without TLS: the gateway serves TCP only with client certificates; add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY`,
      1,
    );
  }
  return { address };
}
