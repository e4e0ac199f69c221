import { type SearchResult, ImagesMethods } from '@berth/proto';
import { parseReference } from '@berth/oci';
import { DockerConfig } from '@berth/registry-client';
import { StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { ellipsis } from '../row-contexts.js';
import { headerContext, renderListing, resolveFormat } from '../table-format.js';
import { FieldContext } from '../template.js';
import { out } from './shared.js';

/**
 * `berth search` (docker search): repositories of a registry matching the term, in docker's table
 * (NAME DESCRIPTION STARS OFFICIAL), with `--limit`, `--filter stars=N|is-official=bool|is-automated=bool`,
 * `--format` and `--no-trunc`. The platform's registry unless the term names one (`host:5000/term`).
 */

const searchTable = 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}';
const searchHeader = headerContext('*formatter.searchContext', ['Name', 'Description', ['StarCount', 'STARS'], ['IsOfficial', 'OFFICIAL'], ['IsAutomated', 'AUTOMATED']]);

function row(r: SearchResult, trunc: boolean): FieldContext {
  return new FieldContext('*formatter.searchContext', {
    Name: () => r.name,
    Description: () => {
      const text = r.description.replace(/\n/g, ' ').replace(/\r/g, ' ');
      return trunc ? ellipsis(text, 45) : text;
    },
    StarCount: () => String(r.starCount),
    IsOfficial: () => (r.isOfficial ? '[OK]' : ''),
    IsAutomated: () => (r.isAutomated ? '[OK]' : ''),
  });
}

/** The daemon's search filters (stars, is-official, is-automated), checked as docker checks them. */
function matcher(words: string[]): (r: SearchResult) => boolean {
  const checks: Array<(r: SearchResult) => boolean> = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    const key = word.slice(0, eq).trim().toLowerCase();
    const value = word.slice(eq + 1).trim();
    const bool = () => {
      if (!['true', 'false', '1', '0'].includes(value.toLowerCase())) throw new StatusError(`Error response from daemon: invalid filter '${key}=${value}'`, 1);
      return value === '1' || value.toLowerCase() === 'true';
    };
    if (key === 'stars') {
      if (!/^\d+$/.test(value)) throw new StatusError(`Error response from daemon: invalid filter 'stars=${value}'`, 1);
      checks.push((r) => r.starCount >= Number(value));
    } else if (key === 'is-official') {
      const want = bool();
      checks.push((r) => r.isOfficial === want);
    } else if (key === 'is-automated') {
      const want = bool();
      checks.push((r) => r.isAutomated === want);
    } else {
      throw new StatusError(`Error response from daemon: invalid filter '${key}'`, 1);
    }
  }
  return (r) => checks.every((check) => check(r));
}

export async function search(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const term = p.args[0]!;
  const match = matcher(p.values.filter as string[]);
  // Credentials of the registry named in the term, from docker's config file (as pull does).
  let registryAuth;
  const slash = term.indexOf('/');
  if (slash > 0 && /[.:]|^localhost$/.test(term.slice(0, slash))) {
    const domain = parseReference(`${term.slice(0, slash)}/x`).domain;
    const credentials = await new DockerConfig(undefined, ctx.io.env).get(domain).catch(() => undefined); // no saved credentials: anonymous
    if (credentials) registryAuth = { username: credentials.username, password: credentials.password };
  }
  const c = unaryClient(ctx, ImagesMethods);
  const res = await c.search({ term, limit: p.values.limit as number, registryAuth });
  const results = res.results.filter(match).sort((a, b) => b.starCount - a.starCount);
  const source = resolveFormat({ format: p.values.format as string, defaultTable: searchTable });
  out(ctx, renderListing(source, results.map((r) => row(r, !(p.values['no-trunc'] as boolean))), searchHeader));
  return 0;
}
