import { InvalidArgumentError } from '@berth/errors';

/**
 * Project names, as the Compose specification (02-model) and Docker Compose define them: an
 * explicit name (`-p`, `COMPOSE_PROJECT_NAME`) must already be valid; a top-level `name:` and the
 * directory name are normalized (lowercased, other characters dropped, leading `-` / `_` removed).
 */

export const projectNameRule =
  'project names must contain only lowercase letters, decimal digits, dashes, and underscores, and must begin with a lowercase letter or decimal digit';

export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[-_]+/, '');
}

export function isValidProjectName(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/.test(name);
}

/** Throws the rule, quoted, when an explicitly given name is not valid. */
export function checkProjectName(name: string, source: string): string {
  if (!isValidProjectName(name)) {
    throw new InvalidArgumentError(`Invalid project name ${JSON.stringify(name)} (from ${source}): ${projectNameRule}`, {
      code: 'COMPOSE_INVALID_PROJECT_NAME',
    });
  }
  return name;
}
