import { isBerthError } from '@berth/errors';
import { parseDigest as parseOciDigest, type ParsedDigest } from '@berth/oci';
import { RegistryError } from './registry-error.js';

/**
 * A digest the registry was given (in a path, `?digest=`, `?mount=`, a descriptor, a link file),
 * parsed by @berth/oci: sha256 and sha512 are accepted, as the OCI distribution spec asks. Anything
 * else is `DIGEST_INVALID` (400) with @berth/oci's reason, e.g.
 * `Invalid checksum digest length: "sha256:abc" (expected 64 hex characters)`.
 */
export function parseDigest(s: string): ParsedDigest {
  try {
    return parseOciDigest(s);
  } catch (err) {
    if (!isBerthError(err)) throw err;
    throw new RegistryError('DIGEST_INVALID', err.message, { detail: { digest: s } });
  }
}

/** Looks like `algorithm:encoded` at all (so a manifest reference is a digest and not a tag: tags have no ':'). */
export function looksLikeDigest(s: string): boolean {
  return s.includes(':');
}
