import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { parseReference, type Reference } from '@berth/oci';

/*
 * How image names are stored and shown: fully normalized in the database
 * (`docker.io/library/busybox:latest`, `…/busybox@sha256:…`), familiar to the user (`busybox:latest`).
 */

export function noSuchImage(ref: string): NotFoundError {
  return new NotFoundError(`No such image: ${ref}`, { code: 'NO_SUCH_IMAGE' });
}

/** A reference a tag can be set to: InvalidArgumentError for a digest reference. */
export function parseTagTarget(target: string): Reference {
  const ref = parseReference(target);
  if (ref.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
  return ref;
}

/** The names a reference is stored under: the tag form and/or the digest form. */
export function storedNames(ref: Reference): string[] {
  const out: string[] = [];
  if (ref.tag) out.push(`${ref.name}:${ref.tag}`);
  if (ref.digest) out.push(`${ref.name}@${ref.digest}`);
  return out;
}

export function familiar(name: string): string {
  return parseReference(name).familiar();
}

export function repositoryOf(name: string): string {
  return parseReference(name).name;
}

/** Docker's isImageIDPrefix: the argument is (a prefix of) the id, with or without `sha256:`. */
export function isIdPrefix(id: string, ref: string): boolean {
  return ref.length > 0 && (id.startsWith(ref) || id.slice('sha256:'.length).startsWith(ref));
}

/**
 * Docker's isSingleReference: at most one tag, and every name (tags and digests) in the same
 * repository. Removing such an image by id needs no force.
 */
export function isSingleReference(names: string[]): boolean {
  if (names.length === 0) return false;
  const tags = names.filter((n) => !n.includes('@'));
  if (tags.length > 1) return false;
  return new Set(names.map(repositoryOf)).size === 1;
}
