import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@berth/errors';

/**
 * Digests as OCI writes them: `<algorithm>:<hex>`, with the two algorithms the OCI descriptor spec
 * registers. Berth names its own content by sha256; sha512 content (pushed to the registry, or in
 * foreign manifests) is parsed, hashed and verified alike.
 */
export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** The registered algorithms, canonical (sha256) first. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

const hexLength = { sha256: 64, sha512: 128 } as const;
const algorithmPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;

/** `sha256:<hex>` of the bytes (a string is hashed as UTF-8). */
export function sha256(data: Buffer | Uint8Array | string): string {
  return digestOf(data, 'sha256');
}

/** `sha512:<hex>` of the bytes (a string is hashed as UTF-8). */
export function sha512(data: Buffer | Uint8Array | string): string {
  return digestOf(data, 'sha512');
}

/** `<algorithm>:<hex>` of the bytes. */
export function digestOf(data: Buffer | Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** True for `sha256` and `sha512`, the algorithms parseDigest accepts. */
export function isDigestAlgorithm(s: string): s is DigestAlgorithm {
  return s === 'sha256' || s === 'sha512';
}

/** A running digest of bytes that arrive in chunks (an upload, a download, a file). */
export interface Digester {
  readonly algorithm: DigestAlgorithm;
  /** Bytes hashed so far. */
  readonly size: number;
  update(chunk: Uint8Array): void;
  /** `<algorithm>:<hex>` of everything given to update(); call it once. */
  digest(): string;
}

export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Digester {
  const hash = createHash(algorithm);
  let size = 0;
  return {
    algorithm,
    get size() {
      return size;
    },
    update(chunk) {
      hash.update(chunk);
      size += chunk.length;
    },
    digest: () => `${algorithm}:${hash.digest('hex')}`,
  };
}

/** Hashes a whole stream (a file's read stream, a response body): its digest and byte count. */
export async function digestStream(source: AsyncIterable<Uint8Array>, algorithm: DigestAlgorithm = 'sha256'): Promise<{ digest: string; size: number }> {
  const digester = createDigester(algorithm);
  for await (const chunk of source) digester.update(chunk);
  return { digest: digester.digest(), size: digester.size };
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
  if (!isDigestAlgorithm(algorithm)) {
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
