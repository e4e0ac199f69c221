import { join } from 'node:path';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from '@berth/oci';
import { readdirOptional, readOptional } from './fs-util.js';
import type { RegistryPaths } from './paths.js';

/**
 * Walks of the layout in paths.ts that visit every digest algorithm's directories (sha256 first),
 * for the storage, gc and the usage figures.
 */

/**
 * The digests of the `<dirOf(alg)>/<hex>/link` files that exist: a repository's layers
 * (`paths.layersDir`), revisions (`paths.revisionsDir`), or a subject's referrers.
 */
export async function linkedDigests(dirOf: (algorithm: DigestAlgorithm) => string): Promise<string[]> {
  const found: string[] = [];
  for (const algorithm of DIGEST_ALGORITHMS) {
    const dir = dirOf(algorithm);
    for (const hex of await readdirOptional(dir)) {
      if ((await readOptional(join(dir, hex, 'link'))) !== undefined) found.push(`${algorithm}:${hex}`);
    }
  }
  return found;
}

/** Every blob directory `blobs/<alg>/<2hex>/<hex>` (its bytes are `<dir>/data`), whatever links it. */
export async function storedBlobs(paths: RegistryPaths): Promise<Array<{ digest: string; dir: string }>> {
  const found: Array<{ digest: string; dir: string }> = [];
  for (const algorithm of DIGEST_ALGORITHMS) {
    for (const prefix of await readdirOptional(paths.blobsDir(algorithm))) {
      for (const hex of await readdirOptional(join(paths.blobsDir(algorithm), prefix))) {
        found.push({ digest: `${algorithm}:${hex}`, dir: join(paths.blobsDir(algorithm), prefix, hex) });
      }
    }
  }
  return found;
}
