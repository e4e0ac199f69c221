import { isRepositoryName } from '../names.js';
import { ALL_ACTIONS, type AccessPolicy, type Action } from './access-policy.js';
import type { AccessEntry } from './token-issuer.js';

/**
 * Parses the `scope` parameters of a token request (each may hold several space-separated
 * scopes): `repository:<name>:<actions>`, `repository(plugin):<name>:<actions>` (the class is
 * ignored, as the spec says), `registry:catalog:*`. Malformed entries are skipped, since a token
 * server grants what it can rather than failing.
 */
export function parseScopes(scope: string | string[] | undefined): AccessEntry[] {
  const raw = (Array.isArray(scope) ? scope : scope === undefined ? [] : [scope]).flatMap((s) => s.split(' ')).filter((s) => s !== '');
  const entries: AccessEntry[] = [];
  for (const s of raw) {
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const type = s.slice(0, first).replace(/\(.*\)$/, '');
    entries.push({ type, name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter((a) => a !== '') });
  }
  return entries;
}

/**
 * The token server's grant: for each requested scope, the intersection of the requested actions
 * with what the policy allows `user` (undefined: anonymous). Empty intersections are dropped; being
 * granted less than asked is not an error (registry-auth/token.md).
 */
export function grantAccess(policy: AccessPolicy, user: string | undefined, requested: AccessEntry[]): AccessEntry[] {
  const granted: AccessEntry[] = [];
  for (const r of requested) {
    if (r.type === 'registry' && r.name === 'catalog') {
      if (r.actions.includes('*') && policy.mayListCatalog(user)) granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    if (r.type !== 'repository' || !isRepositoryName(r.name)) continue;
    const allowed = policy.allowed(user, r.name);
    const wanted = r.actions.includes('*') ? [...ALL_ACTIONS] : r.actions;
    const actions = [...new Set(wanted.filter((a): a is Action => allowed.has(a as Action)))];
    if (actions.length > 0) granted.push({ type: 'repository', name: r.name, actions });
  }
  return granted;
}
