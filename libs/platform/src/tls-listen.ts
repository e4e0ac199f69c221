import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '@berth/errors';

/** The TLS files a service's TCP listener (`--tls-listen`) serves with: the cluster CA, its certificate and key. */
export interface TlsListenFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * An agent's or builder's TCP listener (`--tls-listen ADDRESS:PORT`): its address and the server
 * credentials to bind it with. `useCrl` makes the listener refuse the client certificates a CRL
 * of the cluster CA revokes (certificate-revocation.ts), on the connections made from then on;
 * the caller checks the CRL first (checkCrl: one OpenSSL cannot verify would refuse every client).
 */
export interface TlsListener {
  address: string;
  credentials: grpc.ServerCredentials;
  useCrl(crlPem: string): void;
}

/**
 * The credentials of an agent's or builder's TCP listener (`--tls-listen ADDRESS:PORT`): mutual
 * TLS, a client must show a certificate of the cluster CA (libs/platform cluster-ca.ts): only the
 * gateway has one. Never without: a plain TCP agent would hand root to anyone who reaches it.
 * InvalidArgumentError when a file is missing or unreadable.
 */
export function tlsListenCredentials(listen: string, files: TlsListenFiles): grpc.ServerCredentials {
  return tlsListener(listen, files).credentials;
}

/** The listener of `listen` with `files` (tlsListenCredentials' checks), whose CRL may be set later. */
export function tlsListener(listen: string, files: TlsListenFiles): TlsListener {
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
  const ca = read('--tlscacert', files.ca);
  const cert = read('--tlscert', files.cert);
  const key = read('--tlskey', files.key);
  const credentials = grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: cert, private_key: key }],
    true, // a client without a certificate signed by the cluster CA is refused
  );
  // grpc-js hands new context options to the TLS server it bound (setSecureContext), or binds with
  // them; Node turns on OpenSSL's CRL check of the client's chain when a CRL is given. The method
  // is protected in grpc-js's types (its certificate providers call it), public at runtime.
  const updatable = credentials as unknown as { updateSecureContextOptions(options: SecureContextOptions): void };
  return { address: listen, credentials, useCrl: (crl) => updatable.updateSecureContextOptions({ ca, cert: [cert], key: [key], crl }) };
}

/**
 * The flags of a service's TCP listener with mutual TLS, for node:util `parseArgs` (spread into its
 * options): `--tls-listen ADDRESS:PORT` and the three files it needs, `--tlscacert`, `--tlscert`, `--tlskey`.
 */
export const tlsListenerFlagOptions = {
  'tls-listen': { type: 'string' },
  tlscacert: { type: 'string' },
  tlscert: { type: 'string' },
  tlskey: { type: 'string' },
} as const;

/**
 * The TCP listener a service's main was asked for (`--tls-listen` and `--tlscacert`, `--tlscert`,
 * `--tlskey`), undefined without `--tls-listen`. A listener without its files (or with unreadable
 * ones) is printed on stderr and ends the process with status 2, before anything starts, as the
 * services' other flag errors do.
 */
export function tlsListenerForFlags(flags: { 'tls-listen'?: string; tlscacert?: string; tlscert?: string; tlskey?: string }): TlsListener | undefined {
  const listen = flags['tls-listen'];
  if (listen === undefined) return undefined;
  try {
    return tlsListener(listen, { ca: flags.tlscacert, cert: flags.tlscert, key: flags.tlskey });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
