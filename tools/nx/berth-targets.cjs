// @ts-check
/**
 * Nx plugin: the targets every Berth project has, inferred from its files so that a new project
 * needs only a project.json with a name and tags (see CONTRIBUTING.md "Adding a project").
 *
 * - `test`: the project's unit tests, `*.test.ts` except `*.e2e.test.ts`. Cached: the inputs are the
 *   project's files and its dependencies' sources. A project without unit tests says so.
 * - `e2e`: the `*.e2e.test.ts` files (they start the platform or other real services). Never cached.
 *   Only projects that have such files get the target.
 * - `typecheck`: tsc over the project's files (and what they import). Cached.
 * - `lint`: ESLint with module boundaries (eslint.config.mjs). Cached.
 *
 * A project.json target of the same name overrides what is inferred here (Nx applies project.json
 * last), so do not repeat these targets there.
 *
 * Nx loads plugins with require(), hence CommonJS.
 */
const { readdirSync, readFileSync } = require('node:fs');
const { basename, dirname, join } = require('node:path');

/** Directories never searched for tests. */
const SKIP = new Set(['node_modules', 'dist', 'testdata', 'generated', '.nx']);

/**
 * Counts the unit and e2e test files under `dir`.
 * @param {string} dir
 * @param {{ unit: number, e2e: number }} found
 */
function countTests(dir, found = { unit: 0, e2e: 0 }) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP.has(entry.name)) countTests(join(dir, entry.name), found);
    } else if (entry.name.endsWith('.e2e.test.ts')) found.e2e++;
    else if (entry.name.endsWith('.test.ts')) found.unit++;
  }
  return found;
}

/** @param {string} command */
function run(command) {
  return { executor: 'nx:run-commands', options: { command, cwd: '{workspaceRoot}' } };
}

/**
 * @param {string} root
 * @param {string} name
 * @param {{ unit: number, e2e: number }} tests
 */
function targetsFor(root, name, tests) {
  /** @type {Record<string, any>} */
  const targets = {
    test: {
      ...run(
        tests.unit > 0
          ? 'vitest run --dir {projectRoot} --exclude "**/*.e2e.test.ts"'
          : `echo "${name}: no unit tests${tests.e2e > 0 ? ' (see the e2e target)' : ''}"`,
      ),
      cache: true,
      inputs: ['default', '^production', '!{projectRoot}/**/*.e2e.test.ts'],
    },
    typecheck: {
      ...run('node tools/nx/typecheck-project.mjs {projectRoot}'),
      cache: true,
      inputs: ['default', '^production', '{workspaceRoot}/tools/nx/typecheck-project.mjs'],
    },
    lint: {
      ...run('eslint --max-warnings 0 {projectRoot}'),
      cache: true,
      // Tags live in every project.json: a change of tags anywhere can change what is allowed here.
      inputs: ['default', '^production', '{workspaceRoot}/eslint.config.mjs', '{workspaceRoot}/**/project.json'],
    },
  };
  if (tests.e2e > 0) {
    targets.e2e = { ...run('vitest run --dir {projectRoot} .e2e.test.ts'), cache: false };
  }
  return targets;
}

/** @type {import('nx/src/project-graph/plugins').CreateNodesV2} */
exports.createNodesV2 = [
  '**/project.json',
  (configFiles, _options, context) =>
    configFiles.map((file) => {
      const root = dirname(file);
      const absolute = join(context.workspaceRoot, root);
      let name = basename(root);
      try {
        name = JSON.parse(readFileSync(join(absolute, 'project.json'), 'utf8')).name ?? name;
      } catch {
        // An unreadable project.json is reported by Nx's own project.json plugin; keep the dir name.
      }
      return [file, { projects: { [root]: { targets: targetsFor(root, name, countTests(absolute)) } } }];
    }),
];
