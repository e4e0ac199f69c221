import { MediaType } from '@berth/oci';
import { RegistryError } from '../registry-error.js';
import { queryOne, type HandlerContext } from './context.js';

/**
 * One page of a sorted list: the entries after `last` (exclusive), at most `n`, plus the `Link`
 * header of the next page when more remain. `n=0` gives an empty page without a link.
 */
export function paginate(all: string[], query: HandlerContext['query'], path: string): { items: string[]; link?: string } {
  const nRaw = queryOne(query, 'n');
  const last = queryOne(query, 'last');
  let n: number | undefined;
  if (nRaw !== undefined && nRaw !== '') {
    if (!/^\d+$/.test(nRaw)) throw new RegistryError('UNSUPPORTED', `Invalid "n" query parameter "${nRaw}": expected a non-negative integer`, { status: 400 });
    n = Number(nRaw);
  }
  const after = last === undefined || last === '' ? all : all.filter((x) => x > last);
  if (n === undefined) return { items: after };
  const items = after.slice(0, n);
  if (n === 0 || after.length <= n) return { items };
  const next = `${path}?n=${n}&last=${encodeURIComponent(items[items.length - 1])}`;
  return { items, link: `<${next}>; rel="next"` };
}

/** GET `/v2/<name>/tags/list[?n=&last=]`. */
export async function listTags(ctx: HandlerContext, name: string): Promise<void> {
  const path = `/v2/${name}/tags/list`;
  const { items, link } = paginate(await ctx.storage.listTags(name), ctx.query, path);
  if (link) ctx.reply.header('link', link);
  ctx.reply.code(200).type('application/json').send({ name, tags: items });
}

/** GET `/v2/_catalog[?n=&last=]`. */
export async function listCatalog(ctx: HandlerContext): Promise<void> {
  const { items, link } = paginate(await ctx.storage.listRepositories(), ctx.query, '/v2/_catalog');
  if (link) ctx.reply.header('link', link);
  ctx.reply.code(200).type('application/json').send({ repositories: items });
}

/** GET `/v2/<name>/referrers/<digest>[?artifactType=]`: an OCI index, never a 404. */
export async function listReferrers(ctx: HandlerContext, name: string, digest: string): Promise<void> {
  let manifests = await ctx.storage.listReferrers(name, digest);
  const artifactType = queryOne(ctx.query, 'artifactType');
  if (artifactType !== undefined) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    ctx.reply.header('oci-filters-applied', 'artifactType');
  }
  // A Buffer, so that fastify adds no charset parameter (the spec asks for the bare media type).
  ctx.reply.code(200).type(MediaType.OciIndex).send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests })));
}
