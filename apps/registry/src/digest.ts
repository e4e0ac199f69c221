import { createHash } from 'node:crypto';
import { RegistryError } from './registry-error.js';

// TODO(lead): replace with `sha256` / `parseDigest` / `isDigest` of @berth/oci once it lands; kept
// here so the registry does not depend on a library that is being written concurrently.

/** A parsed `sha256:<64 hex>` digest. Only sha256 is supported, as by registry:2's defaults. */
export interface Digest {
  algorithm: 'sha256';
  hex: string;
}

const SHA256 = /^sha256:([a-f0-9]{64})$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigest(s: string): boolean {
  return SHA256.test(s);
}

/** Looks like `algorithm:encoded` at all (so a manifest reference is a digest and not a tag). */
export function looksLikeDigest(s: string): boolean {
  return s.includes(':');
}

/** Parses a sha256 digest; anything else is `DIGEST_INVALID` (400), as the spec asks. */
export function parseDigest(s: string): Digest {
  const m = SHA256.exec(s);
  if (m) return { algorithm: 'sha256', hex: m[1] };
  if (ANY_DIGEST.test(s) && !s.startsWith('sha256:')) {
    throw new RegistryError('DIGEST_INVALID', `Unsupported digest algorithm in "${s}": only sha256 is supported`, { detail: { digest: s } });
  }
  throw new RegistryError('DIGEST_INVALID', `Invalid digest "${s}": expected "sha256:" followed by 64 lowercase hex characters`, {
    detail: { digest: s },
  });
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
