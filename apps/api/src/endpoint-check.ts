import { lstatSync } from 'node:fs';
import { grpcTarget } from '@berth/proto';

/**
 * Whether the gateway may forward calls (and with them registry passwords and `-e` values) to an
 * address read from NATS. An entry there is only as trustworthy as whoever could write it, so the
 * address itself must prove it belongs to a platform service: a unix socket owned by root (or by
 * the gateway's own user), not a symlink; or, when the gateway has the cluster's TLS client
 * certificate (`clusterTls`), a TCP address, which the gateway speaks to over mutual TLS only: the
 * service there must show a certificate of the cluster CA for that address (libs/platform
 * cluster-ca.ts, docs/dev/cluster.md).
 *
 * Returns undefined when the address is trusted, else the reason it is not.
 */
export function untrustedReason(address: string, options: { owner?: number; clusterTls?: boolean } = {}): string | undefined {
  const owner = options.owner ?? process.geteuid?.() ?? 0;
  const target = grpcTarget(address);
  if (!target.startsWith('unix:')) {
    if (options.clusterTls) return undefined;
    return `"${address}" is not a unix socket (agents on TCP need the cluster's TLS, and this gateway has no cluster certificate: --cluster-secrets)`;
  }
  const path = target.slice('unix:'.length);
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    return `cannot check socket "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (!stat.isSocket()) return `"${path}" is not a socket`;
  if (stat.uid !== 0 && stat.uid !== owner) return `socket "${path}" is owned by uid ${stat.uid}, not root`;
  return undefined;
}
