import { readBody } from './http-request.js';
import type { RegistryClient } from './registry-client.js';
import { registryError } from './registry-errors.js';

/** A catalog page is a JSON list of names; anything larger than this is not one. */
const MAX_PAGE = 4 * 1024 * 1024;

/**
 * The repositories of registry `domain` (`GET /v2/_catalog`, Docker Registry's extension of the
 * distribution API), following `Link: <…>; rel="next"` pages until `limit` names (default all).
 * Errors: the registry's, as registryError maps them (`unauthorized: …`, …).
 */
export async function listCatalog(client: RegistryClient, domain: string, options: { limit?: number } = {}): Promise<string[]> {
  const names: string[] = [];
  let path: string | undefined = '/v2/_catalog?n=100';
  while (path !== undefined && (options.limit === undefined || names.length < options.limit)) {
    const res = await client.transport.request(domain, { method: 'GET', path, scopes: ['registry:catalog:*'] });
    if (res.status !== 200) throw await registryError(res, `Cannot list the repositories of "${domain}"`);
    const body = JSON.parse((await readBody(res, MAX_PAGE)).toString('utf8')) as { repositories?: string[] | null };
    names.push(...(body.repositories ?? []));
    const link = String(res.headers.link ?? '');
    path = /<([^>]+)>;\s*rel="?next"?/.exec(link)?.[1];
  }
  return options.limit === undefined ? names : names.slice(0, options.limit);
}
