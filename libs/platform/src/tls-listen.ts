import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '@berth/errors';

/** The TLS files a service's TCP listener (`--tls-listen`) serves with: the cluster CA, its certificate and key. */
export interface TlsListenFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * The credentials of an agent's or builder's TCP listener (`--tls-listen ADDRESS:PORT`): mutual
 * TLS, a client must show a certificate of the cluster CA (libs/platform cluster-ca.ts): only the
 * gateway has one. Never without: a plain TCP agent would hand root to anyone who reaches it.
 * InvalidArgumentError when a file is missing or unreadable.
 */
export function tlsListenCredentials(listen: string, files: TlsListenFiles): grpc.ServerCredentials {
  if (files.ca === undefined || files.cert === undefined || files.key === undefined) {
    throw new InvalidArgumentError(`Refusing to listen on TCP "${listen}" without the cluster's TLS files: add --tlscacert, --tlscert and --tlskey`);
  }
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new InvalidArgumentError(`Cannot read ${flag} "${file}": ${(err as Error).message}`, { cause: err });
    }
  };
  return grpc.ServerCredentials.createSsl(
    read('--tlscacert', files.ca),
    [{ cert_chain: read('--tlscert', files.cert), private_key: read('--tlskey', files.key) }],
    true, // a client without a certificate signed by the cluster CA is refused
  );
}
