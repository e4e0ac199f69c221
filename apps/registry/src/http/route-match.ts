/**
 * The endpoints of the distribution API (distribution-spec "Endpoints"). Repository names contain
 * slashes, so paths are matched here rather than by the router: the name is everything before the
 * last `/blobs/`, `/manifests/`, `/tags/list` or `/referrers/` suffix.
 */
export type Endpoint =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'referrers'; name: string; digest: string };

const SUFFIXES: Array<[RegExp, (name: string, arg: string) => Endpoint]> = [
  [/^(.+)\/blobs\/uploads\/?$/, (name) => ({ kind: 'uploads', name })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (name, uuid) => ({ kind: 'upload', name, uuid })],
  [/^(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: 'blob', name, digest })],
  [/^(.+)\/manifests\/([^/]+)$/, (name, reference) => ({ kind: 'manifest', name, reference })],
  [/^(.+)\/tags\/list$/, (name) => ({ kind: 'tags', name })],
  [/^(.+)\/referrers\/([^/]+)$/, (name, digest) => ({ kind: 'referrers', name, digest })],
];

/** Matches a request path (no query string); undefined when it is not an API endpoint. */
export function matchEndpoint(path: string): Endpoint | undefined {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (!path.startsWith('/v2/')) return undefined;
  const rest = path.slice('/v2/'.length);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [re, make] of SUFFIXES) {
    const m = re.exec(rest);
    if (m) {
      try {
        return make(decodeURIComponent(m[1]), decodeURIComponent(m[2] ?? ''));
      } catch {
        return undefined; // malformed percent-encoding
      }
    }
  }
  return undefined;
}
