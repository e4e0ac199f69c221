import { NotFoundError } from '@berth/errors';
import { dirname, join, resolve } from 'node:path';
import type { ComposeFs } from './compose-fs.js';

/**
 * Which Compose files make up the project, as Docker Compose chooses them: the `-f` files (`-` is
 * standard input), else `COMPOSE_FILE` split on `COMPOSE_PATH_SEPARATOR` (`:` by default), else the
 * first of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml found in the
 * directory or its parents, plus the matching `compose.override.yaml` (or .yml, or docker-compose.
 * override.*) next to it.
 */

export const defaultFileNames = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
export const overrideFileNames = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

export interface ProjectFilesOptions {
  fs: ComposeFs;
  /** Where relative `-f` paths are resolved (the current directory). */
  cwd: string;
  /** Where `COMPOSE_FILE` entries are resolved and the search starts (--project-directory, else cwd). */
  baseDir: string;
  configFiles?: string[];
  environment: Map<string, string>;
  warnings: string[];
}

export function findProjectFiles(options: ProjectFilesOptions): string[] {
  const given = options.configFiles ?? [];
  if (given.length > 0) return given.map((f) => (f === '-' ? f : resolve(options.cwd, f)));
  const fromEnv = options.environment.get('COMPOSE_FILE');
  if (fromEnv) {
    const sep = options.environment.get('COMPOSE_PATH_SEPARATOR') || ':';
    return fromEnv
      .split(sep)
      .filter((f) => f !== '')
      .map((f) => resolve(options.baseDir, f));
  }
  let dir = options.baseDir;
  for (;;) {
    const found = defaultFileNames.filter((n) => options.fs.stat(join(dir, n)) === 'file');
    if (found.length > 0) {
      if (found.length > 1) options.warnings.push(`Found multiple config files with supported names: ${found.map((f) => join(dir, f)).join(', ')}; using ${join(dir, found[0]!)}`);
      const files = [join(dir, found[0]!)];
      const override = overrideFileNames.find((n) => options.fs.stat(join(dir, n)) === 'file');
      if (override) files.push(join(dir, override));
      return files;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new NotFoundError(
    `no configuration file provided: no ${defaultFileNames.join(', ')} in ${JSON.stringify(options.baseDir)} or its parent directories`,
    { code: 'COMPOSE_FILE_NOT_FOUND' },
  );
}
