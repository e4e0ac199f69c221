import { composeError, pathString, type SourceLocation } from './compose-error.js';
import { extendService } from './merge.js';
import type { PathSegments } from './parse-yaml.js';

/**
 * `extends`, in the same file or another one, chains included, as compose-go's ApplyExtends: the
 * base service (itself resolved first) is copied, the file's `!reset` / `!override` paths are
 * removed from the copy, and the service is merged onto it with the `services.x` merge rules.
 * Circular references are refused with the chain spelled out.
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ExtendsContext {
  /** The file whose services are being resolved (absolute path and the name errors show). */
  file: string;
  display: string;
  /** Field locations in that file. */
  locate: (path: PathSegments) => SourceLocation;
  /** The canonical, interpolated services of another file (absolute path), paths resolved there. */
  loadServices: (file: string, from: SourceLocation) => { services: Dict; display: string; locate: (path: PathSegments) => SourceLocation };
  /** Resolves `extends.file` (relative to the extending file's directory). */
  resolveFile: (fromFile: string, file: string) => string;
  /** `!reset` / `!override` paths of the document, applied to the copied base. */
  resets: PathSegments[];
}

function deepClone<T>(v: T): T {
  return structuredClone(v);
}

export function applyExtends(model: Dict, ctx: ExtendsContext): void {
  if (!isDict(model.services)) return;
  const services = model.services;
  for (const name of Object.keys(services)) {
    resolveService(name, services, ctx, []);
  }
}

function resolveService(name: string, services: Dict, ctx: ExtendsContext, chain: Array<{ file: string; display: string; service: string }>): Dict | undefined {
  const service = services[name];
  if (!isDict(service)) return undefined;
  const ext = service.extends;
  if (ext === undefined) return service;
  const where = ctx.locate(['services', name, 'extends']);
  if (!isDict(ext) || typeof ext.service !== 'string') throw composeError(where, 'must name the service to extend');
  const ref = ext.service;
  for (const link of chain) {
    if (link.file === ctx.file && link.service === name) {
      const steps = [...chain, { file: ctx.file, display: ctx.display, service: name }];
      const text = steps.map((s, i) => `${i === 0 ? '' : 'extends '}${s.service} in ${s.display}`).join(', ');
      throw composeError(where, `circular reference: ${text}`);
    }
  }
  const nextChain = [...chain, { file: ctx.file, display: ctx.display, service: name }];
  let base: Dict | undefined;
  if (typeof ext.file === 'string') {
    const other = ctx.resolveFile(ctx.file, ext.file);
    const loaded = ctx.loadServices(other, ctx.locate(['services', name, 'extends', 'file']));
    if (!isDict(loaded.services[ref])) {
      throw composeError(where, `cannot extend service "${name}": service "${ref}" not found in ${loaded.display}`);
    }
    base = resolveService(ref, loaded.services, { ...ctx, file: other, display: loaded.display, locate: loaded.locate, resets: [] }, nextChain);
  } else {
    if (!isDict(services[ref])) throw composeError(where, `cannot extend service "${name}": service "${ref}" not found in ${ctx.display}`);
    base = resolveService(ref, services, ctx, nextChain);
  }
  if (!base) return service;
  const copy = deepClone(base);
  for (const p of ctx.resets) {
    if (p.length >= 3 && p[0] === 'services' && p[1] === name && typeof p[2] === 'string') {
      let node: unknown = copy;
      for (const seg of p.slice(2, -1)) node = isDict(node) && typeof seg === 'string' ? node[seg] : undefined;
      const last = p[p.length - 1];
      if (isDict(node) && typeof last === 'string') delete node[last];
    }
  }
  delete copy.extends;
  const overlay: Dict = { ...service };
  delete overlay.extends;
  const merged = extendService(copy, overlay, name);
  services[name] = merged;
  return merged;
}

export { pathString };
