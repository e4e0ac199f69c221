import { lstatSync } from 'node:fs';
import { grpcTarget } from '@berth/proto';

/**
 * Whether the gateway may forward calls (and with them registry passwords and `-e` values) to an
 * address read from NATS. An entry there is only as trustworthy as whoever could write it, so the
 * address itself must prove it belongs to a platform service: a unix socket owned by root (or by
 * the gateway's own user), not a symlink. TCP addresses are refused until agents serve TLS with
 * per-host certificates (docs/security.md, "The control plane is authenticated").
 *
 * Returns undefined when the address is trusted, else the reason it is not.
 */
export function untrustedReason(address: string, owner: number = process.geteuid?.() ?? 0): string | undefined {
  const target = grpcTarget(address);
  if (!target.startsWith('unix:')) return `"${address}" is not a unix socket (agents on TCP need TLS, which Berth does not offer yet)`;
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
