import type { Credentials } from './docker-config.js';
import { PLATFORM_REGISTRY_ALIAS } from './registry-host.js';
import type { TransportOptions } from './registry-transport.js';

/**
 * The platform's own registry (`127.0.0.1:<port>`) and its credentials (libs/platform
 * `readRegistryAuth`): the agent and the builder use them for it when a request carries none, so
 * root pushes there (and exports a build cache there) without a `berth login`.
 */
export interface PlatformRegistry {
  address: string;
  credentials: Credentials;
  /**
   * The CA (PEM) its HTTPS certificate is signed by: the cluster CA, when the registry serves a
   * cluster off loopback (libs/platform registry-tls.ts). Unset: a loopback registry (plain HTTP).
   */
  ca?: string;
}

/**
 * What a registry client needs to reach the platform registry: its short name mapped to its
 * address, and for one with a CA, HTTPS verified against that CA only (never plain HTTP, never
 * unverified: its credentials must not cross the network in clear).
 */
export function platformRegistryTransport(platform: PlatformRegistry | undefined): Pick<TransportOptions, 'hosts' | 'hostCas'> {
  if (platform === undefined) return {};
  return {
    hosts: { [PLATFORM_REGISTRY_ALIAS]: platform.address },
    ...(platform.ca !== undefined ? { hostCas: { [platform.address.toLowerCase()]: platform.ca } } : {}),
  };
}

/**
 * The credentials for registry `domain`: `requested` (what the client sent) when it has a user
 * name, else the platform registry's when `domain` is that registry (by its address, or by its
 * short name `berth.localhost`, PLATFORM_REGISTRY_ALIAS), else none.
 */
export function credentialsFor(domain: string, requested: Credentials | undefined, platform: PlatformRegistry | undefined): Credentials | undefined {
  if (requested && requested.username !== '') return requested;
  if (platform && (sameRegistry(domain, platform.address) || domain.toLowerCase() === PLATFORM_REGISTRY_ALIAS)) return platform.credentials;
  return undefined;
}

/** `localhost:5000`, `[::1]:5000` and `127.0.0.1:5000` name the same loopback registry. */
function sameRegistry(a: string, b: string): boolean {
  const loopback = (d: string) => d.replace(/^(localhost|\[::1\])(?=:|$)/, '127.0.0.1');
  return loopback(a) === loopback(b);
}
