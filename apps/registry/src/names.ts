import { RegistryError } from './registry-error.js';

// The distribution-spec grammar for repository names and tags.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Longest accepted name: 255 minus room for a `host:port/` prefix, as the spec's implementers note advises. */
export const MAX_NAME_LENGTH = 229;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Throws `NAME_INVALID` unless `name` is a valid repository name. */
export function checkRepositoryName(name: string): void {
  if (!isRepositoryName(name)) {
    throw new RegistryError(
      'NAME_INVALID',
      `Invalid repository name "${name}": use at most ${MAX_NAME_LENGTH} characters of lowercase components [a-z0-9] separated by ".", "_", "__", "-" or "/"`,
      { detail: { name } },
    );
  }
}

/** Throws `TAG_INVALID` unless `tag` is a valid tag. */
export function checkTag(tag: string): void {
  if (!isTag(tag)) {
    throw new RegistryError('TAG_INVALID', `Invalid tag "${tag}": expected [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, { detail: { tag } });
  }
}

/**
 * Matches a repository glob of the access file: `*` matches any run of characters, `/` included
 * (`team/*` covers `team/app` and `team/app/db`); everything else matches itself.
 */
export function matchRepositoryGlob(glob: string, name: string): boolean {
  const re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}
