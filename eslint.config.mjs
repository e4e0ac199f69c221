// ESLint: module boundaries between Nx projects, and a few rules that find real bugs. Kept small on
// purpose; formatting is not linted. Run by `npm test` (scripts/test) and `npx nx lint <project>`.
//
// Tags (in each project.json) say who may import whom:
//   type:app       apps/*: may import any library, never another app
//   type:e2e       test/: cross-service tests, may import any library
//   type:errors    libs/errors: the bottom, imports no other project
//   type:base      libs/oci: imports only libs/errors (it throws the error classes, as every library does)
//   type:test      libs/testing: test helpers, imported by test files only
//   other type:*   libraries (feature, data, data-access, util, api): never import apps
//   scope:shared   usable everywhere; imports only scope:shared
//   scope:host     runs on a host (agent, builder and their libraries); imports shared and host
//   scope:gateway, scope:registry   services that hold no host state; import only scope:shared
//   scope:compose  compose/ (the Compose controller): imported by apps only, never by a library
//   scope:cli, scope:e2e, scope:tooling   clients, tests and tools: import any library
import { createHash } from 'node:crypto';
import { defineConfig } from 'eslint/config';
import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// The boundaries rule reads Nx's cached project graph and silently skips itself when there is none;
// computing it here (under a second when cached) keeps `npx eslint` right after a project.json or an
// import changed. Its tags and project-level edges go into `settings`, so that `eslint --cache`
// (npm test) re-lints every file when they change: ESLint's cache is keyed on each file's content
// and the config, not on the files a result depends on.
const graph = await createProjectGraphAsync({ exitOnError: true });
const graphKey = createHash('sha256')
  .update(
    JSON.stringify(
      Object.values(graph.nodes)
        .map((n) => [n.name, n.data.root, n.data.tags ?? [], (graph.dependencies[n.name] ?? []).map((d) => d.target).sort()])
        .sort(),
    ),
  )
  .digest('hex');

const LIBRARY_TYPES = ['type:errors', 'type:base', 'type:util', 'type:api', 'type:data', 'type:data-access', 'type:feature'];

/** Constraints for production code; `testFiles` additionally may import type:test (libs/testing). */
function depConstraints({ testFiles }) {
  const libraries = testFiles ? [...LIBRARY_TYPES, 'type:test'] : LIBRARY_TYPES;
  return [
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: libraries },
    { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: [...LIBRARY_TYPES, 'type:test'] },
    { sourceTag: 'type:tool', onlyDependOnLibsWithTags: [...LIBRARY_TYPES, 'type:test'] },
    { sourceTag: 'type:errors', onlyDependOnLibsWithTags: [] },
    { sourceTag: 'type:base', onlyDependOnLibsWithTags: ['type:errors'] },
    ...['type:util', 'type:api', 'type:data', 'type:data-access', 'type:feature'].map((sourceTag) => ({
      sourceTag,
      onlyDependOnLibsWithTags: libraries,
    })),
    { sourceTag: 'type:test', onlyDependOnLibsWithTags: [...LIBRARY_TYPES, 'type:test'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:host', onlyDependOnLibsWithTags: ['scope:shared', 'scope:host'] },
    { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:registry', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:compose', onlyDependOnLibsWithTags: ['scope:shared', 'scope:host'] },
  ];
}

const TEST_FILES = ['**/*.test.ts', '**/test-support.ts', '**/testdata/**/*.ts'];

// Nx sees one dependency per pair of projects, whether from production code or tests. A library's
// tests use libs/testing, which starts the platform through libs/platform, which uses other
// libraries: a "cycle" that exists only through test files (no file imports itself through it). Edges
// into libs/testing come from test files only (type:test above), so cycles through it are ignored.
const boundaries = (options) => [
  'error',
  { allow: [], banTransitiveDependencies: false, ignoredCircularDependencies: [['*', 'tag:type:test']], ...options },
];

export default defineConfig(
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', 'libs/proto/src/generated/**', '**/*.cjs', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { '@nx': nx, '@typescript-eslint': tseslint.plugin },
    settings: { berthProjectGraph: graphKey },
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ depConstraints: depConstraints({ testFiles: false }) }),
      // Bugs, not style.
      'no-async-promise-executor': 'error',
      'no-constant-binary-expression': 'error',
      'no-self-compare': 'error',
      'no-unsafe-finally': 'error',
    },
  },
  {
    // An app may load a library lazily to keep its start-up small (the registry imports @berth/events
    // only when NATS is configured); its tests may import that library statically all the same.
    files: TEST_FILES,
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ depConstraints: depConstraints({ testFiles: true }), checkDynamicDependenciesExceptions: ['^@berth/'] }),
    },
  },
);
