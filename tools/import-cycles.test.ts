import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir, type TempDir } from '@berth/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkCycles, findImportCycles } from './import-cycles.js';

let repo: TempDir;
beforeEach(() => {
  repo = tempDir('berth-cycles-');
});
afterEach(() => repo.remove());

function write(files: Record<string, string>) {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo.path, file)), { recursive: true });
    writeFileSync(join(repo.path, file), text);
  }
}

const project = (name: string) => JSON.stringify({ name });
const paths = (aliases: Record<string, string>) =>
  JSON.stringify({ compilerOptions: { paths: Object.fromEntries(Object.entries(aliases).map(([a, t]) => [a, [t]])) } });

describe('findImportCycles', () => {
  it('finds a cycle of relative imports inside a project, type-only and index imports included', () => {
    write({
      'tsconfig.base.json': paths({}),
      'libs/a/project.json': project('a'),
      'libs/a/src/one.ts': "import { two } from './two.js';\nexport const one = 1;",
      'libs/a/src/two.ts': "import type { Three } from './three';\nexport const two = 2;",
      'libs/a/src/three/index.ts': "export { one } from '../one.js';\nexport type Three = number;",
      'libs/a/src/free.ts': "import { one } from './one.js';",
    });
    expect(findImportCycles(repo.path)).toEqual([
      {
        project: 'a',
        members: ['libs/a/src/one.ts', 'libs/a/src/three/index.ts', 'libs/a/src/two.ts'],
        path: ['libs/a/src/one.ts', 'libs/a/src/two.ts', 'libs/a/src/three/index.ts', 'libs/a/src/one.ts'],
      },
    ]);
  });

  it('finds a cycle between projects through aliases and relative paths, and a dynamic import', () => {
    write({
      'tsconfig.base.json': paths({ '@x/a': 'libs/a/src/index.ts', '@x/b': 'libs/b/src/index.ts' }),
      'libs/a/project.json': project('a'),
      'libs/a/src/index.ts': "export const load = () => import('@x/b');",
      'libs/b/project.json': project('b'),
      'libs/b/src/index.ts': "import '../../c/src/index.js';",
      'libs/c/project.json': project('c'),
      'libs/c/src/index.ts': "import { load } from '@x/a';",
    });
    expect(findImportCycles(repo.path)).toEqual([{ project: 'projects', members: ['a', 'b', 'c'], path: ['a', 'b', 'c', 'a'] }]);
  });

  it('ignores a cycle between projects that only a test file closes', () => {
    write({
      'tsconfig.base.json': paths({ '@x/a': 'libs/a/src/index.ts', '@x/testing': 'libs/testing/src/index.ts' }),
      'libs/a/project.json': project('a'),
      'libs/a/src/index.ts': 'export const a = 1;',
      'libs/a/src/a.test.ts': "import { start } from '@x/testing';",
      'libs/testing/project.json': project('testing'),
      'libs/testing/src/index.ts': "import { a } from '@x/a';\nexport const start = a;",
    });
    expect(findImportCycles(repo.path)).toEqual([]);
  });

  it('finds nothing in a tree without cycles, and ignores packages and missing files', () => {
    write({
      'tsconfig.base.json': paths({ '@x/a': 'libs/a/src/index.ts' }),
      'libs/a/project.json': project('a'),
      'libs/a/src/index.ts': "import { x } from './x.js';\nimport ts from 'typescript';\nimport { gone } from './gone.js';",
      'libs/a/src/x.ts': "import { readFileSync } from 'node:fs';",
      'apps/b/project.json': project('b'),
      'apps/b/src/main.ts': "import { x } from '@x/a';",
    });
    expect(findImportCycles(repo.path)).toEqual([]);
  });
});

describe('checkCycles', () => {
  const cycle = { project: 'a', members: ['libs/a/one.ts', 'libs/a/two.ts'], path: ['libs/a/one.ts', 'libs/a/two.ts', 'libs/a/one.ts'] };

  it('allows a cycle whose files are all listed, and reports list entries that match nothing', () => {
    const known = [
      { project: 'a', files: ['libs/a/one.ts', 'libs/a/two.ts', 'libs/a/three.ts'], why: 'x' },
      { project: 'a', files: ['libs/a/gone.ts'], why: 'fixed since' },
    ];
    expect(checkCycles([cycle], known)).toEqual({ allowed: [cycle], fresh: [], stale: [known[1]] });
  });

  it('does not allow a cycle that reaches a file outside the entry', () => {
    const known = [{ project: 'a', files: ['libs/a/one.ts'], why: 'x' }];
    expect(checkCycles([cycle], known)).toEqual({ allowed: [], fresh: [cycle], stale: known });
  });
});
