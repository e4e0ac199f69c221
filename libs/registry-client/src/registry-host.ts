import { isIP } from 'node:net';
import { InvalidArgumentError } from '@berth/errors';

/**
 * The short name of this host's platform registry in image references: `berth.localhost/team/app:1`
 * is pushed to and pulled from the registry `berth platform up` runs, whatever its port. It sits
 * under `.localhost`, which RFC 6761 reserves for loopback (no one can register it, and it is never
 * mDNS's `.local`), and it is never looked up: the client maps it to the address it is given
 * (`hosts`), and refuses it when it was given none. See docs/registry.md.
 */
export const PLATFORM_REGISTRY_ALIAS = 'berth.localhost';

/**
 * Which host serves a reference's domain: `hosts[domain]` when given (the platform registry's
 * short name), `registry-1.docker.io` for `docker.io` (and its legacy name `index.docker.io`),
 * else the domain itself.
 */
export function registryHost(domain: string, hosts: Readonly<Record<string, string>> = {}): string {
  const mapped = hosts[domain.toLowerCase()];
  if (mapped !== undefined) return mapped;
  if (domain.toLowerCase() === PLATFORM_REGISTRY_ALIAS) {
    throw new InvalidArgumentError(
      `Registry "${domain}" is the short name of a Berth host's platform registry, whose address was not given here: use the address "berth info" prints (e.g. 127.0.0.1:5000)`,
    );
  }
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

/** The host part of `host[:port]` / `[v6]:port`, brackets removed. */
export function hostname(hostPort: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (bracketed) return bracketed[1]!;
  const colons = hostPort.split(':').length - 1;
  return colons === 1 ? hostPort.slice(0, hostPort.indexOf(':')) : hostPort;
}

/** `localhost`, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopback(hostPort: string): boolean {
  const host = hostname(hostPort).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * True when the registry may be spoken to over plain HTTP, or over HTTPS with an unverified
 * certificate: loopback hosts and the hosts listed as insecure (`host` or `host:port`, as in
 * Docker's `insecure-registries`; CIDR ranges are not supported).
 */
export function isInsecure(hostPort: string, insecureRegistries: readonly string[] = []): boolean {
  if (isLoopback(hostPort)) return true;
  const host = hostname(hostPort).toLowerCase();
  return insecureRegistries.some((entry) => {
    const e = entry.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return e === hostPort.toLowerCase() || e === host;
  });
}
