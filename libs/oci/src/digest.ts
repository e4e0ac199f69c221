import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@berth/errors';

/**
 * Digests as OCI writes them: `<algorithm>:<hex>`. Berth produces and stores sha256 only; sha512 is
 * accepted when parsing (the OCI descriptor spec registers both) so that foreign manifests validate.
 */
export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

const hexLength = { sha256: 64, sha512: 128 } as const;
const algorithmPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;

/** `sha256:<hex>` of the bytes (a string is hashed as UTF-8). */
export function sha256(data: Buffer | Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Parses and validates a digest. Throws InvalidArgumentError with go-digest's wording
 * (`invalid checksum digest format`, `... length`, `unsupported digest algorithm`) plus the value.
 */
export function parseDigest(s: string): ParsedDigest {
  const i = s.indexOf(':');
  if (i <= 0 || i + 1 === s.length) throw new InvalidArgumentError(`Invalid checksum digest format: "${s}"`);
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    if (!algorithmPattern.test(algorithm)) throw new InvalidArgumentError(`Invalid checksum digest format: "${s}"`);
    throw new InvalidArgumentError(`Unsupported digest algorithm: "${s}"`);
  }
  if (!/^[a-f0-9]*$/.test(hex)) throw new InvalidArgumentError(`Invalid checksum digest format: "${s}"`);
  if (hex.length !== hexLength[algorithm]) {
    throw new InvalidArgumentError(`Invalid checksum digest length: "${s}" (expected ${hexLength[algorithm]} hex characters)`);
  }
  return { algorithm, hex };
}

/** True when `s` is a well-formed sha256 or sha512 digest. */
export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chain IDs for the layers of an image, bottom first (OCI config.md "Layer ChainID"):
 * ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
 * The last element identifies the whole root filesystem; snapshots are named by these.
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    parseDigest(diffId);
    out.push(out.length === 0 ? diffId : sha256(`${out[out.length - 1]} ${diffId}`));
  }
  return out;
}

/** The 12-character short form Docker prints (`sha256:` stripped). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
