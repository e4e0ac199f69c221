import { NotFoundError } from '@berth/errors';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { canonicalService } from './canonical.js';
import { composeError } from './compose-error.js';
import { type ComposeFs, nodeFs } from './compose-fs.js';
import { checkConsistency } from './consistency.js';
import { interpolateModel } from './interpolate.js';
import { type FilesContext, loadFiles, projectEnvironment, readComposeFile } from './load-files.js';
import { Locator } from './locator.js';
import { convertResource, convertService, makeFail } from './model-convert.js';
import type { Project, ServiceConfig } from './model.js';
import { normalizeModel } from './normalize.js';
import { parseYamlDocuments, setOwn } from './parse-yaml.js';
import { findProjectFiles } from './project-files.js';
import { checkProjectName, normalizeProjectName, projectNameRule } from './project-name.js';
import { resolveEnvFiles, resolveFileObjectEnvironment } from './resolve-env-files.js';
import { resolveRelativePaths } from './resolve-paths.js';

/**
 * Loading a Compose project: choose the files and the project name, load and merge the files
 * (./load-files.ts), resolve relative paths, normalize, apply profiles, check consistency, read
 * env files, and build the typed model. Pure apart from reading files through `fs`: the
 * environment, standard input and directories are inputs.
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface LoadProjectOptions {
  /** The directory the command runs in. */
  cwd: string;
  /** The shell's environment (`process.env`). */
  environment: Record<string, string | undefined>;
  /** `-f` files, in order; `-` reads `stdin`. */
  configFiles?: string[];
  /** `-p`. */
  projectName?: string;
  /** `--project-directory`. */
  projectDirectory?: string;
  /** `--env-file` files, in order (replace the project directory's `.env`). */
  envFiles?: string[];
  /** `--profile`; `*` enables every service. */
  profiles?: string[];
  /** Services the command targets: their profiles are enabled, and only they and their dependencies are kept. */
  services?: string[];
  /** The text of standard input, for `-f -`. */
  stdin?: string;
  /** false: do not substitute variables (`config --no-interpolate`). */
  interpolate?: boolean;
  /** File access (default: the real file system). */
  fs?: ComposeFs;
}

function displayPath(cwd: string) {
  return (p: string) => {
    if (p === '-') return 'stdin';
    const rel = relative(cwd, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
  };
}

function envFilesFor(dir: string, options: LoadProjectOptions, fs: ComposeFs, display: (p: string) => string): string[] {
  if (options.envFiles && options.envFiles.length > 0) {
    return options.envFiles.map((f) => {
      const path = resolve(options.cwd, f);
      if (fs.stat(path) !== 'file') throw new NotFoundError(`Couldn't find env file: ${display(path)}`, { code: 'COMPOSE_FILE_NOT_FOUND' });
      return path;
    });
  }
  const dotEnv = resolve(dir, '.env');
  return fs.stat(dotEnv) === 'file' ? [dotEnv] : [];
}

/** The last non-empty top-level `name:` of the files, interpolated. */
function nameFromFiles(files: string[], ctx: FilesContext): string | undefined {
  let name: string | undefined;
  for (const file of files) {
    const display = ctx.display(file);
    for (const doc of parseYamlDocuments(readComposeFile(file, ctx), display)) {
      if (!isDict(doc.value) || doc.value.name === undefined || doc.value.name === null) continue;
      const holder = interpolateModel({ name: doc.value.name }, { file: display, lines: doc.lines, lookup: (n) => ctx.environment.get(n), interpolate: ctx.interpolate });
      if (typeof holder.name === 'string' && holder.name !== '') name = holder.name;
    }
  }
  return name;
}

/** Loads, validates and normalizes a Compose project. Throws InvalidArgumentError / NotFoundError naming file and field. */
export function loadProject(options: LoadProjectOptions): Project {
  const fs = options.fs ?? nodeFs;
  const cwd = resolve(options.cwd);
  const display = displayPath(cwd);
  const warnings: string[] = [];
  const shell = new Map<string, string>();
  for (const [k, v] of Object.entries(options.environment)) if (v !== undefined) shell.set(k, v);
  const home = shell.get('HOME');
  const interpolate = options.interpolate !== false;
  const baseDir = options.projectDirectory ? resolve(cwd, options.projectDirectory) : cwd;
  const ctxFor = (environment: Map<string, string>): FilesContext => ({
    fs,
    environment,
    interpolate,
    warnings,
    locator: new Locator('compose.yaml'),
    display,
    home,
    stdin: options.stdin,
    included: [],
  });

  let environment = projectEnvironment(envFilesFor(baseDir, options, fs, display), shell, ctxFor(shell));
  const files = findProjectFiles({ fs, cwd, baseDir, configFiles: options.configFiles, environment, warnings });
  const workingDir = options.projectDirectory ? baseDir : files[0] === '-' ? cwd : dirname(files[0]!);
  if (workingDir !== baseDir) environment = projectEnvironment(envFilesFor(workingDir, options, fs, display), shell, ctxFor(shell));

  let name: string;
  const envName = environment.get('COMPOSE_PROJECT_NAME');
  if (options.projectName) name = checkProjectName(options.projectName, '-p');
  else if (envName) name = checkProjectName(envName, 'COMPOSE_PROJECT_NAME');
  else {
    const fromFiles = nameFromFiles(files, ctxFor(environment));
    name = normalizeProjectName(fromFiles ?? '') || normalizeProjectName(basename(workingDir));
    if (name === '') {
      throw composeError(
        { file: display(files[0]!) },
        `cannot derive a project name from the directory ${JSON.stringify(workingDir)}: set "name:", -p or COMPOSE_PROJECT_NAME (${projectNameRule})`,
      );
    }
  }
  environment.set('COMPOSE_PROJECT_NAME', name);

  const ctx = ctxFor(environment);
  ctx.locator = new Locator(display(files[0]!));
  const model = loadFiles(files, workingDir, ctx);
  const locate = (p: Array<string | number>) => ctx.locator.locate(p);
  resolveRelativePaths(model, workingDir, home);
  normalizeModel(model, { projectName: name, environment });

  // Profiles: explicit ones, else COMPOSE_PROFILES, plus those of targeted services.
  const services = isDict(model.services) ? model.services : {};
  const profileList = options.profiles && options.profiles.length > 0 ? options.profiles : (environment.get('COMPOSE_PROFILES') ?? '').split(',');
  const active = new Set(profileList.map((p) => p.trim()).filter((p) => p !== ''));
  for (const target of options.services ?? []) {
    const s = services[target];
    if (!isDict(s)) throw new NotFoundError(`no such service: ${target}`, { code: 'COMPOSE_NO_SUCH_SERVICE' });
    for (const p of (s.profiles as string[] | undefined) ?? []) active.add(p);
  }
  const disabled = new Map<string, string[]>();
  const disabledDicts: Dict = {};
  if (!active.has('*')) {
    for (const [svcName, s] of Object.entries(services)) {
      const profiles = isDict(s) && Array.isArray(s.profiles) ? (s.profiles as string[]) : [];
      if (profiles.length > 0 && !profiles.some((p) => active.has(p))) {
        disabled.set(svcName, profiles);
        disabledDicts[svcName] = s;
        delete services[svcName];
      }
    }
  }
  // As Compose, a model that is not interpolated is not checked: `${VOL}` may name anything.
  if (interpolate) checkConsistency(model, { locate, disabled });
  resolveFileObjectEnvironment(model, environment);

  if (options.services && options.services.length > 0) {
    const keep = new Set<string>();
    const visit = (n: string) => {
      if (keep.has(n)) return;
      keep.add(n);
      const s = services[n];
      if (isDict(s) && isDict(s.depends_on)) for (const dep of Object.keys(s.depends_on)) if (Object.hasOwn(services, dep)) visit(dep);
    };
    for (const t of options.services) visit(t);
    for (const n of Object.keys(services)) {
      if (!keep.has(n)) {
        disabledDicts[n] = services[n];
        delete services[n];
      }
    }
  }

  const fail = makeFail(locate);
  const typed: Record<string, ServiceConfig> = {};
  for (const svcName of Object.keys(services).sort()) {
    const s = services[svcName] as Dict;
    resolveEnvFiles(s, svcName, { fs, environment, display, locate, warnings });
    setOwn(typed, svcName, convertService(s, ['services', svcName], fail, { lenient: !interpolate }) as ServiceConfig);
  }
  const disabledTyped: Record<string, ServiceConfig> = {};
  for (const svcName of Object.keys(disabledDicts).sort()) {
    setOwn(disabledTyped, svcName, convertService(canonicalService(disabledDicts[svcName] as Dict, ['services', svcName], { file: display(files[0]!) }), ['services', svcName], fail) as ServiceConfig);
  }
  const resources = <T>(kind: 'networks' | 'volumes' | 'secrets' | 'configs'): Record<string, T> => {
    const top = isDict(model[kind]) ? (model[kind] as Dict) : {};
    const out: Dict = {};
    for (const key of Object.keys(top).sort()) setOwn(out, key, convertResource(kind, top[key] as Dict, [kind, key], fail));
    return out as Record<string, T>;
  };
  const extensions: Dict = {};
  for (const key of Object.keys(model).sort()) if (key.startsWith('x-')) setOwn(extensions, key, model[key]);
  const envRecord: Record<string, string> = {};
  for (const key of [...environment.keys()].sort()) setOwn(envRecord, key, environment.get(key));

  return {
    name,
    workingDir,
    composeFiles: files,
    environment: envRecord,
    services: typed,
    networks: resources('networks'),
    volumes: resources('volumes'),
    secrets: resources('secrets'),
    configs: resources('configs'),
    models: isDict(model.models) ? (model.models as Project['models']) : {},
    extensions,
    disabledServices: disabledTyped,
    activeProfiles: [...active].sort(),
    warnings,
  };
}
