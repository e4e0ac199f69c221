import { InvalidArgumentError } from '@berth/errors';
import type { EndpointRecord } from './types.js';

/**
 * Links on a user-defined network (Docker's EndpointSettings.Links, libnetwork's endpoint aliases):
 * `--link NAME[:ALIAS]` makes ALIAS resolve, in the embedded DNS and for the linking container
 * only, to what NAME resolves to on that network (a container name, alias or id prefix). Unlike
 * legacy links on the default bridge, NAME need not exist yet and nothing is written to /etc/hosts.
 */

/** `name[:alias]` as `name:alias` (docker's opts.ParseLink: a leading `/` dropped, the alias's last path element). */
export function normalizeEndpointLinks(links: string[]): string[] {
  return links.map((link) => {
    const parts = link.split(':');
    if (link === '' || parts.length > 2 || parts[0] === '') throw new InvalidArgumentError(`bad format for links: "${link}"`);
    const name = parts[0]!.replace(/^\//, '');
    const alias = parts.length === 2 ? parts[1]!.split('/').pop()! : name;
    if (alias === '') throw new InvalidArgumentError(`bad format for links: "${link}"`);
    return `${name}:${alias}`;
  });
}

/** The name `query` stands for when `client` asks (its link target), or `query` itself. */
export function linkTarget(client: Pick<EndpointRecord, 'Links'> | undefined, query: string): string {
  for (const link of client?.Links ?? []) {
    const colon = link.lastIndexOf(':');
    if (link.slice(colon + 1).toLowerCase() === query) return link.slice(0, colon).toLowerCase();
  }
  return query;
}
