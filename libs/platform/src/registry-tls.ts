import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@berth/errors';
import { clusterTlsOf } from './cluster-ca.js';
import { firstDataRoot, firstHostAddress } from './nats-cluster.js';
import { readRegistryAuth, secretsOf } from './platform-secrets.js';
import { isJoinedHost, type PlatformSettings } from './platform-settings.js';

/**
 * The cluster registry between machines: a first host with an `--address` serves its registry
 * over HTTPS with its own server certificate (cluster-ca.ts `host.pem`: CN = host id, SAN
 * IP:address, signed by the cluster CA), and every client of it on a host of the cluster (agent,
 * builder) trusts the cluster CA for it, and nothing else: the registry's credentials and the
 * layers never cross the network in clear. A registry on loopback (one host, no `--address`) stays
 * plain HTTP, as Docker treats a loopback registry.
 */
export interface RegistryTls {
  /** The registry's certificate and key (`--tls-cert`, `--tls-key`): on the first host only. */
  serve?: { cert: string; key: string };
  /** The CA its clients trust for it (`--platform-registry-ca`): the cluster CA's certificate file. */
  ca?: string;
}

/** The registry's TLS as seen from the host of `settings` (a first host, or one that joined). */
export function platformRegistryTls(settings: PlatformSettings): RegistryTls {
  if (firstHostAddress(settings).startsWith('127.')) return {};
  // A token-joined host got the CA with its join; a host joined on this machine (`--cluster`)
  // reads the first host's.
  const tls = clusterTlsOf(secretsOf(firstDataRoot(settings)).dir);
  return isJoinedHost(settings) ? { ca: tls.ca } : { serve: { cert: tls.cert, key: tls.key }, ca: tls.ca };
}

/**
 * The platform registry a service's main was given (`--platform-registry`,
 * `--platform-registry-auth`, and for one off loopback `--platform-registry-ca`): its address,
 * credentials and CA. Undefined without an address or credentials. InvalidArgumentError for a
 * file that cannot be read.
 */
export function readPlatformRegistry(flags: { address?: string; auth?: string; ca?: string }):
  | { address: string; credentials: { username: string; password: string }; ca?: string }
  | undefined {
  if (!flags.address || !flags.auth) return undefined;
  let ca: string | undefined;
  if (flags.ca !== undefined) {
    try {
      ca = readFileSync(flags.ca, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`Cannot read --platform-registry-ca "${flags.ca}": ${(err as Error).message}`, { cause: err });
    }
  }
  return { address: flags.address, credentials: readRegistryAuth(flags.auth), ...(ca !== undefined ? { ca } : {}) };
}
