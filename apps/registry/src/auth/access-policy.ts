import { readFile } from 'node:fs/promises';
import { load as loadYaml } from 'js-yaml';
import { InvalidArgumentError } from '@berth/errors';
import { matchRepositoryGlob } from '../names.js';

export type Action = 'pull' | 'push' | 'delete';
export const ALL_ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

/** user → repository glob → actions. */
export type AccessRules = Record<string, Record<string, Array<Action | '*'>>>;

/**
 * Who may do what to which repository. The access file is YAML (or JSON):
 *
 * ```yaml
 * alice:                 # a user of the htpasswd file
 *   "*": ["*"]           # every action on every repository
 * bob:
 *   "team/*": [pull, push]
 *   "public/*": [pull]
 * "*":                   # any authenticated user
 *   "public/*": [pull]
 * ```
 *
 * Globs: `*` matches any characters, `/` included. Actions: `pull`, `push`, `delete`, `*` (all).
 * A user's actions are the union of every matching rule of theirs and of `"*"`. Without an access
 * file every authenticated user may do everything. Anonymous clients may only pull, and only
 * with `anonymousPull`.
 */
export class AccessPolicy {
  constructor(
    private readonly rules: AccessRules | undefined,
    private readonly options: { anonymousPull?: boolean } = {},
  ) {}

  static parse(text: string, options: { anonymousPull?: boolean; source?: string } = {}): AccessPolicy {
    const source = options.source ?? 'access file';
    const data = loadYaml(text) ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new InvalidArgumentError(`Invalid "${source}": expected a map of user → repository glob → actions`);
    for (const [user, globs] of Object.entries(data as Record<string, unknown>)) {
      if (typeof globs !== 'object' || globs === null || Array.isArray(globs)) {
        throw new InvalidArgumentError(`Invalid "${source}": user "${user}" must map repository globs to action lists`);
      }
      for (const [glob, actions] of Object.entries(globs as Record<string, unknown>)) {
        if (!Array.isArray(actions) || !actions.every((a) => a === '*' || ALL_ACTIONS.includes(a))) {
          throw new InvalidArgumentError(`Invalid "${source}": actions of "${user}" on "${glob}" must be a list of pull, push, delete or *`);
        }
      }
    }
    return new AccessPolicy(data as AccessRules, options);
  }

  static async load(file: string | undefined, options: { anonymousPull?: boolean } = {}): Promise<AccessPolicy> {
    if (file === undefined) return new AccessPolicy(undefined, options);
    return AccessPolicy.parse(await readFile(file, 'utf8'), { ...options, source: file });
  }

  /** The actions `user` (undefined: anonymous) may perform on repository `name`. */
  allowed(user: string | undefined, name: string): Set<Action> {
    if (user === undefined || user === '') return new Set(this.options.anonymousPull ? ['pull'] : []);
    if (this.rules === undefined) return new Set(ALL_ACTIONS);
    const result = new Set<Action>();
    for (const who of [user, '*']) {
      for (const [glob, actions] of Object.entries(this.rules[who] ?? {})) {
        if (!matchRepositoryGlob(glob, name)) continue;
        for (const a of actions) (a === '*' ? ALL_ACTIONS : [a]).forEach((x) => result.add(x));
      }
    }
    return result;
  }

  /** Listing the catalog: any authenticated user (the catalog is not filtered per repository). */
  mayListCatalog(user: string | undefined): boolean {
    return user !== undefined && user !== '';
  }
}
