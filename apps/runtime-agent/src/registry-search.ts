import { InvalidArgumentError } from '@berth/errors';
import type { SearchResult } from '@berth/proto';
import { listCatalog, type RegistryClient } from '@berth/registry-client';

/**
 * `docker search` against registries that have no search API (registry:2, Berth's own): the
 * repositories of the registry's `_catalog` whose name contains the term, case-insensitively, as
 * pullable names (`host:5000/repo`). Stars and descriptions do not exist there: 0 and ''.
 */

/**
 * docker's splitReposSearchTerm: a first component with a `.` or `:`, or `localhost`, names the
 * registry; otherwise the platform's registry is searched. InvalidArgumentError when there is none.
 */
export function splitSearchTerm(text: string, platformRegistry: string | undefined): { domain: string; term: string } {
  const slash = text.indexOf('/');
  const first = slash < 0 ? '' : text.slice(0, slash);
  if (first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost')) return { domain: first, term: text.slice(slash + 1) };
  if (!platformRegistry) {
    throw new InvalidArgumentError(`Cannot search "${text}": no registry is configured; name one first, e.g. "localhost:5000/${text}"`);
  }
  return { domain: platformRegistry, term: text };
}

export async function searchCatalog(client: RegistryClient, domain: string, term: string, limit: number): Promise<SearchResult[]> {
  if (limit < 1 || limit > 100) throw new InvalidArgumentError(`Limit ${limit} is outside the range of [1, 100]`);
  const needle = term.toLowerCase();
  const names = (await listCatalog(client, domain)).filter((name) => name.toLowerCase().includes(needle));
  return names.slice(0, limit).map((name) => ({ name: `${domain}/${name}`, description: '', starCount: 0, isOfficial: false, isAutomated: false }));
}
