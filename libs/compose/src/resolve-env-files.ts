import { composeError, composeFileNotFound, type SourceLocation } from './compose-error.js';
import type { ComposeFs } from './compose-fs.js';
import { parseDotenv } from './dotenv.js';
import type { PathSegments } from './parse-yaml.js';
import { setOwn } from './parse-yaml.js';

/**
 * Phase 7: `env_file:` and `label_file:` read into `environment` and `labels`, as compose-go's
 * `WithServicesEnvironmentResolved` (files in order, later ones winning; a file may use what the
 * earlier ones and the project's variables define; `environment` wins over every file, even with
 * an empty or bare value; `required: false` skips a missing file; `format: raw` takes values as
 * written). The file lists are then dropped: the model carries the result.
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface EnvFilesContext {
  fs: ComposeFs;
  environment: Map<string, string>;
  display: (path: string) => string;
  locate: (path: PathSegments) => SourceLocation;
  warnings: string[];
}

function read(path: string, ctx: EnvFilesContext, at: PathSegments, required: boolean): string | undefined {
  const kind = ctx.fs.stat(path);
  if (kind === undefined) {
    if (!required) return undefined;
    throw composeFileNotFound(ctx.locate(at), `env file ${JSON.stringify(ctx.display(path))} not found`);
  }
  if (kind === 'dir') throw composeError(ctx.locate(at), `env file ${JSON.stringify(ctx.display(path))} is a directory`);
  return ctx.fs.readFile(path);
}

export function resolveEnvFiles(service: Dict, name: string, ctx: EnvFilesContext): void {
  if (Array.isArray(service.env_file) && service.env_file.length > 0) {
    const fromFiles = new Map<string, string>();
    service.env_file.forEach((entry, i) => {
      if (!isDict(entry) || typeof entry.path !== 'string') return;
      const at = ['services', name, 'env_file', i];
      const text = read(entry.path, ctx, at, entry.required !== false);
      if (text === undefined) return;
      const vars = parseDotenv(text, {
        file: ctx.display(entry.path),
        raw: entry.format === 'raw',
        lookup: (k) => fromFiles.get(k) ?? ctx.environment.get(k),
        warnings: ctx.warnings,
      });
      for (const [k, v] of vars) fromFiles.set(k, v);
    });
    const environment: Dict = {};
    for (const [k, v] of fromFiles) setOwn(environment, k, v);
    if (isDict(service.environment)) for (const [k, v] of Object.entries(service.environment)) setOwn(environment, k, v);
    service.environment = environment;
  }
  delete service.env_file;
  if (Array.isArray(service.label_file) && service.label_file.length > 0) {
    const labels: Dict = {};
    service.label_file.forEach((file, i) => {
      const text = read(String(file), ctx, ['services', name, 'label_file', i], true)!;
      for (const [k, v] of parseDotenv(text, { file: ctx.display(String(file)), raw: true })) setOwn(labels, k, v);
    });
    if (isDict(service.labels)) for (const [k, v] of Object.entries(service.labels)) setOwn(labels, k, v);
    service.labels = labels;
  }
  delete service.label_file;
}

/** `secrets` / `configs` with an `environment` source get its value as `content` (never printed for secrets). */
export function resolveFileObjectEnvironment(model: Dict, environment: Map<string, string>): void {
  for (const kind of ['secrets', 'configs']) {
    const top = model[kind];
    if (!isDict(top)) continue;
    for (const r of Object.values(top)) {
      if (isDict(r) && typeof r.environment === 'string' && environment.has(r.environment)) r.content = environment.get(r.environment);
    }
  }
}
