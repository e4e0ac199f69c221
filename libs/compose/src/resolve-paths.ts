import { isAbsolute, resolve } from 'node:path';

/**
 * Relative paths of a model made absolute against a directory, as Compose does after loading
 * (compose-go `paths.ResolveRelativePaths`): build contexts (not remote ones), additional
 * contexts, env_file and label_file paths, bind-mount sources, config and secret files, and the
 * device of a local volume bound with `o: bind`. `~` means the home directory.
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

const remotePrefixes = ['https://', 'http://', 'git://', 'ssh://', 'github.com/', 'git@'];

export function isRemoteContext(value: string): boolean {
  return value.includes('://') || remotePrefixes.some((p) => value.startsWith(p));
}

export function expandHome(p: string, home: string | undefined): string {
  if (home && (p === '~' || p.startsWith('~/'))) return home + p.slice(1);
  return p;
}

export function absolutePath(dir: string, p: string, home?: string): string {
  const expanded = expandHome(p, home);
  if (expanded === '' || isAbsolute(expanded)) return expanded;
  return resolve(dir, expanded);
}

export function resolveRelativePaths(model: Dict, dir: string, home: string | undefined): void {
  const abs = (p: unknown) => (typeof p === 'string' ? absolutePath(dir, p, home) : p);
  const context = (p: unknown) => (typeof p === 'string' && !isRemoteContext(p) ? abs(p) : p);
  if (isDict(model.services)) {
    for (const service of Object.values(model.services)) {
      if (!isDict(service)) continue;
      if (isDict(service.build)) {
        const b = service.build;
        if (b.context !== undefined) b.context = context(b.context);
        if (isDict(b.additional_contexts)) for (const [k, v] of Object.entries(b.additional_contexts)) b.additional_contexts[k] = context(v);
      }
      if (Array.isArray(service.env_file)) for (const f of service.env_file) if (isDict(f)) f.path = abs(f.path);
      if (Array.isArray(service.label_file)) service.label_file = service.label_file.map(abs);
      if (Array.isArray(service.volumes)) {
        for (const v of service.volumes) if (isDict(v) && v.type === 'bind' && typeof v.source === 'string') v.source = abs(v.source);
      }
    }
  }
  for (const kind of ['configs', 'secrets']) {
    const top = model[kind];
    if (!isDict(top)) continue;
    for (const r of Object.values(top)) if (isDict(r) && typeof r.file === 'string') r.file = abs(r.file);
  }
  if (isDict(model.volumes)) {
    for (const v of Object.values(model.volumes)) {
      if (!isDict(v) || v.driver !== 'local' || !isDict(v.driver_opts)) continue;
      const opts = v.driver_opts;
      if (opts.o === 'bind' && typeof opts.device === 'string') opts.device = abs(opts.device);
    }
  }
}
