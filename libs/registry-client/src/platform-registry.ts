import type { Credentials } from './docker-config.js';
import { PLATFORM_REGISTRY_ALIAS } from './registry-host.js';

/**
 * The platform's own registry (`127.0.0.1:<port>`) and its credentials (libs/platform
 * `readRegistryAuth`): the agent and the builder use them for it when a request carries none, so
 * root pushes there (and exports a build cache there) without a `berth login`.
 */
export interface PlatformRegistry {
  address: string;
  credentials: Credentials;
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
