import { createHash } from 'node:crypto';

/**
 * A cache key: sha256 over the parent's key and the parts that decide the step's output (BuildKit's
 * cache map: the op minus what does not change the output, plus its inputs' keys). Keys chain, so
 * a change to one step changes the key of every step after it.
 */
export function cacheKey(parent: string, ...parts: string[]): string {
  const hash = createHash('sha256').update(parent);
  for (const part of parts) hash.update('\0').update(part);
  return `sha256:${hash.digest('hex')}`;
}

/** The key a stage starts from: its base image's config digest (or `scratch`). */
export function baseKey(base: { id: string } | 'scratch'): string {
  return cacheKey('', 'FROM', base === 'scratch' ? 'scratch' : base.id);
}

/**
 * The key the steps after a layer step chain on: the step's key and the diff ID of the layer it
 * produced. A step that ran again (`--no-cache`, `--no-cache-filter`) and made different files
 * thus changes the keys of everything built on it, in this stage and in the stages FROM it.
 */
export function chainKey(key: string, diffId: string | undefined): string {
  return diffId ? cacheKey(key, 'LAYER', diffId) : key;
}
