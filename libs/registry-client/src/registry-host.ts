import { isIP } from 'node:net';

/**
 * Which host serves a reference's domain, and whether plain HTTP may be used for it.
 * `docker.io` (and its legacy name `index.docker.io`) is served by `registry-1.docker.io`.
 */
export function registryHost(domain: string): string {
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
