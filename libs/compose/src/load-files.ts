import { dirname } from 'node:path';
import { composeError, composeFileNotFound, type SourceLocation } from './compose-error.js';
import type { ComposeFs } from './compose-fs.js';
import { canonicalModel } from './canonical.js';
import { parseDotenv } from './dotenv.js';
import { applyExtends } from './extends.js';
import { interpolateModel, lineOf } from './interpolate.js';
import type { Locator } from './locator.js';
import { applyResets, enforceUnicity, mergeModels } from './merge.js';
import { parseYamlDocuments, type PathSegments, type YamlDocument } from './parse-yaml.js';
import { absolutePath, resolveRelativePaths } from './resolve-paths.js';
import { validateSchema } from './schema-validate.js';
import { pathString } from './compose-error.js';

/**
 * Loading a list of Compose files into one canonical model: for each file and each YAML document
 * in it, interpolate → validate against the schema → canonical form → `extends` → `include` →
 * apply `!reset` / `!override` to what came before → merge → remove duplicates. Included
 * projects go through the same steps with their own directory and `.env`.
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface FilesContext {
  fs: ComposeFs;
  /** Variables for interpolation (shell over env files), as a map. */
  environment: Map<string, string>;
  interpolate: boolean;
  warnings: string[];
  locator: Locator;
  /** How an absolute path is shown in messages (relative to the working directory when inside it). */
  display: (path: string) => string;
  home?: string;
  /** The text of `-` (standard input). */
  stdin?: string;
  /** Include chain, for cycle detection. */
  included: string[];
}

export const stdinName = '-';

export function readComposeFile(path: string, ctx: FilesContext, from?: SourceLocation): string {
  if (path === stdinName) return ctx.stdin ?? '';
  try {
    return ctx.fs.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw composeFileNotFound(from ?? { file: ctx.display(path) }, from ? `file ${JSON.stringify(ctx.display(path))} not found` : 'no such file');
    }
    throw e;
  }
}

function parseFile(path: string, ctx: FilesContext, from?: SourceLocation): { display: string; docs: YamlDocument[] } {
  const display = ctx.display(path);
  const text = readComposeFile(path, ctx, from);
  return { display, docs: parseYamlDocuments(text, display) };
}

/** One document through interpolation, schema validation and canonicalization. */
function prepareDocument(doc: YamlDocument, display: string, ctx: FilesContext): Dict {
  if (!isDict(doc.value)) throw composeError({ file: display, line: 1 }, 'top-level object must be a mapping');
  const model = doc.value;
  const lookup = (name: string) => ctx.environment.get(name);
  interpolateModel(model, { file: display, lines: doc.lines, lookup, warnings: ctx.warnings, interpolate: ctx.interpolate });
  validateSchema(model, { file: display, lines: doc.lines });
  if (model.version !== undefined) {
    ctx.warnings.push(`${display}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
    delete model.version;
  }
  return canonicalModel(model, { file: display, lines: doc.lines, lenient: !ctx.interpolate });
}

/** Loads and merges `files` (absolute paths, or `-`) for a project whose directory is `workingDir`. */
export function loadFiles(files: string[], workingDir: string, ctx: FilesContext): Dict {
  let acc: Dict = {};
  const otherFiles = new Map<string, { services: Dict; display: string; lines: Map<string, number> }>();

  const loadServices = (file: string, from: SourceLocation) => {
    let loaded = otherFiles.get(file);
    if (!loaded) {
      const parsed = parseFile(file, ctx, from);
      const merged: Dict = {};
      const lines = new Map<string, number>();
      for (const doc of parsed.docs) {
        const model = prepareDocument(doc, parsed.display, ctx);
        ctx.locator.add(parsed.display, doc.lines);
        for (const [k, v] of doc.lines) lines.set(k, v);
        mergeModels(merged, model);
      }
      resolveRelativePaths(merged, dirname(file), ctx.home);
      loaded = { services: isDict(merged.services) ? merged.services : {}, display: parsed.display, lines };
      otherFiles.set(file, loaded);
    }
    const l = loaded;
    return { services: l.services, display: l.display, locate: (p: PathSegments) => ({ file: l.display, path: pathString(p), line: lineOf(l.lines, p) }) };
  };

  let anyDocument = false;
  for (const file of files) {
    const parsed = parseFile(file, ctx);
    const fileDir = file === stdinName ? workingDir : dirname(file);
    for (const doc of parsed.docs) {
      anyDocument = true;
      const model = prepareDocument(doc, parsed.display, ctx);
      ctx.locator.add(parsed.display, doc.lines);
      const locate = (p: PathSegments) => ({ file: parsed.display, path: pathString(p), line: lineOf(doc.lines, p) });
      applyExtends(model, {
        file,
        display: parsed.display,
        locate,
        loadServices,
        resolveFile: (from, f) => absolutePath(from === stdinName ? workingDir : dirname(from), f, ctx.home),
        resets: [...doc.resets, ...doc.overrides],
      });
      applyInclude(model, { workingDir, fileDir, locate, ctx });
      applyResets(acc, [...doc.resets, ...doc.overrides]);
      acc = mergeModels(acc, model);
      enforceUnicity(acc);
    }
  }
  if (!anyDocument || Object.keys(acc).length === 0) {
    throw composeError({ file: ctx.display(files[0]!) }, 'empty compose file: it must define at least one service');
  }
  return acc;
}

function envFromFiles(files: string[], base: Map<string, string>, ctx: FilesContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    const text = readComposeFile(f, ctx);
    const vars = parseDotenv(text, { file: ctx.display(f), lookup: (n) => out.get(n) ?? base.get(n), warnings: ctx.warnings });
    for (const [k, v] of vars) out.set(k, v);
  }
  return out;
}

/** The variables of env files for interpolation, shell values (`base`) taking precedence. */
export function projectEnvironment(files: string[], base: Map<string, string>, ctx: FilesContext): Map<string, string> {
  const fromFiles = envFromFiles(files, base, ctx);
  const env = new Map(fromFiles);
  for (const [k, v] of base) env.set(k, v);
  return env;
}

function applyInclude(
  model: Dict,
  o: { workingDir: string; fileDir: string; locate: (p: PathSegments) => SourceLocation; ctx: FilesContext },
): void {
  const { ctx } = o;
  if (!Array.isArray(model.include)) return;
  model.include.forEach((inc, i) => {
    if (!isDict(inc) || !Array.isArray(inc.path) || inc.path.length === 0) throw composeError(o.locate(['include', i]), 'must name the file(s) to include');
    const paths = (inc.path as string[]).map((p) => absolutePath(o.workingDir, p, ctx.home));
    const main = paths[0]!;
    const projectDir =
      typeof inc.project_directory === 'string' ? absolutePath(o.workingDir, inc.project_directory, ctx.home) : dirname(main);
    if (ctx.included.includes(main)) {
      const chain = [...ctx.included, main].map(ctx.display);
      throw composeError(o.locate(['include', i]), `include cycle detected: ${chain.join(' includes ')}`);
    }
    for (const p of paths) {
      if (ctx.fs.stat(p) !== 'file') throw composeFileNotFound(o.locate(['include', i, 'path']), `included file ${JSON.stringify(ctx.display(p))} not found`);
    }
    let envFiles: string[];
    if (Array.isArray(inc.env_file)) {
      envFiles = (inc.env_file as string[]).filter((f) => f !== '/dev/null').map((f) => absolutePath(o.workingDir, f, ctx.home));
      for (const f of envFiles) {
        if (ctx.fs.stat(f) !== 'file') throw composeFileNotFound(o.locate(['include', i, 'env_file']), `env file ${JSON.stringify(ctx.display(f))} not found`);
      }
    } else {
      const dotEnv = `${projectDir}/.env`;
      envFiles = ctx.fs.stat(dotEnv) === 'file' ? [dotEnv] : [];
    }
    // The including project's variables win over the included project's env files.
    const environment = projectEnvironment(envFiles, ctx.environment, ctx);
    const sub: FilesContext = { ...ctx, environment, included: [...ctx.included, main] };
    const imported = loadFiles(paths, projectDir, sub);
    resolveRelativePaths(imported, projectDir, ctx.home);
    for (const kind of ['services', 'volumes', 'networks', 'secrets', 'configs', 'models']) {
      const from = imported[kind];
      if (!isDict(from)) continue;
      const to = isDict(model[kind]) ? (model[kind] as Dict) : {};
      for (const [name, def] of Object.entries(from)) {
        if (Object.hasOwn(to, name) && JSON.stringify(to[name]) !== JSON.stringify(def)) {
          throw composeError(o.locate([kind, name]), `conflicts with the ${kind.slice(0, -1)} of the same name in included file ${ctx.display(main)}`);
        }
        to[name] = def;
      }
      model[kind] = to;
    }
  });
  delete model.include;
}
