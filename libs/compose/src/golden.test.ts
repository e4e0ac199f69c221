import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isBerthError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '@berth/testing';
import { loadProject, type LoadProjectOptions } from './load-project.js';
import { renderProjectJson, renderProjectYaml } from './render.js';

/**
 * The corpus: each directory of testdata/valid holds a project (compose.yaml and whatever it
 * uses), an optional args.json (load options: environment, files, profiles, …) and the exact
 * expected `config` output (expected.yaml, and expected.json when present). Each directory of
 * testdata/errors holds a broken project and expected-error.txt, the exact message, which must
 * name the file and the field. `${DIR}` stands for the case's directory. A missing expected file
 * fails the test; `UPDATE_GOLDEN=1 npx vitest run libs/compose` writes it instead.
 */

const testdata = resolve(import.meta.dirname, '../testdata');
const update = process.env.UPDATE_GOLDEN === '1';

interface CaseArgs extends Partial<Omit<LoadProjectOptions, 'environment'>> {
  environment?: Record<string, string>;
  /** Text given as standard input for `-f -`. */
  stdinFile?: string;
}

function options(dir: string): LoadProjectOptions {
  const argsFile = join(dir, 'args.json');
  const args: CaseArgs = existsSync(argsFile) ? JSON.parse(readFileSync(argsFile, 'utf8')) : {};
  const { stdinFile, environment, ...rest } = args;
  return {
    ...rest,
    cwd: args.cwd ? resolve(dir, args.cwd) : dir,
    environment: { HOME: '/home/user', ...environment },
    stdin: stdinFile ? readFileSync(join(dir, stdinFile), 'utf8') : undefined,
  };
}

function golden(file: string, actual: string): void {
  if (update) {
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`missing golden file ${file}: run UPDATE_GOLDEN=1 npx vitest run libs/compose to create it, then review it`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const cases = (kind: string) =>
  readdirSync(join(testdata, kind), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

describe('valid projects: config output', () => {
  for (const name of cases('valid')) {
    it(name, () => {
      const dir = join(testdata, 'valid', name);
      const project = loadProject(options(dir));
      const relative = (text: string) => text.split(dir).join('${DIR}');
      golden(join(dir, 'expected.yaml'), relative(renderProjectYaml(project)));
      if (existsSync(join(dir, 'expected.json')) || (update && existsSync(join(dir, 'want-json')))) {
        golden(join(dir, 'expected.json'), relative(renderProjectJson(project)));
      }
    });
  }
});

describe('invalid projects: errors name the file and the field', () => {
  const all = cases('errors');
  it('has at least 40 error cases', () => expect(all.length).toBeGreaterThanOrEqual(40));
  for (const name of all) {
    it(name, () => {
      const dir = join(testdata, 'errors', name);
      const error = thrownBy(() => loadProject(options(dir)));
      expect(error, 'loading must fail').toBeDefined();
      expect(isBerthError(error), `a Berth error, got ${String(error)}`).toBe(true);
      const message = (error as Error).message.split(dir).join('${DIR}');
      golden(join(dir, 'expected-error.txt'), `${message}\n`);
      // file[:line]: field.path: message
      expect(message).toMatch(/^[\w./${}-]+\.(ya?ml|env)(:\d+)?: [\w.[\]-]*[\w\]]: \S/);
    });
  }
});
