// The esbuild options of scripts/bundle.mjs, apart so that a test can build the same bundle in
// memory with a metafile (apps/cli/src/startup-imports.test.ts: what each command loads).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROTO_INDEX = resolve(dirname(fileURLToPath(import.meta.url)), '../libs/proto/src/index.ts');

// `export const ContainersClient = makeGenericClientConstructor(ContainersService, "berth.v1.Containers") as …;`
const CLIENT_CLASS = /^export const (\w+Client) = makeGenericClientConstructor\((\w+), ("[^"]+")\) as unknown as \{\n[\s\S]*?\n\};\n/gm;
const CLIENT_SUFFIX = '?client=';
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GENERATED = '/libs/proto/src/generated/';

/**
 * Sources that get copies of libs/proto's generated modules of their own, `<generated file>?own=<copy>`,
 * one copy per name: esbuild gives a module whole to one chunk, with the code every entry point
 * uses of it, so `ps`, `inspect` and `rm` loaded every Containers message that `run` and `update`
 * send (~200 KB), and `run` every message of `update`, `logs`, `cp`, … (they name their methods
 * with apps/cli unary-clients.ts `unaryMethod`). A copy holds the messages its sources use and what
 * those need, nothing else; the codecs are stateless objects, so two copies in one process encode
 * and decode alike.
 */
const OWN_MESSAGES = new Map([
  ['apps/cli/src/commands/containers.ts', 'containers'],
  ['apps/cli/src/commands/container-list.ts', 'ps'],
  ['apps/cli/src/commands/container-remove.ts', 'rm'],
  ['apps/cli/src/commands/inspect.ts', 'inspect'],
  ['apps/cli/src/commands/container-stats.ts', 'stats'],
  ['apps/cli/src/commands/run.ts', 'run'],
  ['apps/cli/src/commands/stream-relay.ts', 'run'],
  ['apps/cli/src/mount-spec.ts', 'run'],
]);
const OWN_SUFFIX = '?own=';

/**
 * Where each name that libs/proto's index.ts exports is defined: its `export * from` modules (the
 * generated code of each service, grpc.ts, …) and its explicit `export { … } from` lists, which win
 * (a renamed one, `export { X as Y } from`, as `{ file, original: 'X' }`).
 */
function protoExportSources() {
  const sources = new Map();
  const index = readFileSync(PROTO_INDEX, 'utf8');
  const file = (spec) => resolve(dirname(PROTO_INDEX), spec.replace(/\.js$/, '.ts'));
  for (const [, spec] of index.matchAll(/^export \* from '([^']+)';/gm)) {
    const text = readFileSync(file(spec), 'utf8');
    for (const [, name] of text.matchAll(/^export (?:declare )?(?:const|let|var|function\*?|async function|class|abstract class|enum|interface|type) (\w+)/gm)) {
      sources.set(name, file(spec));
    }
    // A generated client class is a module of its own (clientModules below).
    for (const [, name] of text.matchAll(CLIENT_CLASS)) sources.set(name, `${file(spec)}${CLIENT_SUFFIX}${name}`);
  }
  for (const [, names, spec] of index.matchAll(/^export \{([^}]*)\} from '([^']+)';/gm)) {
    for (const name of names.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean)) {
      const [original, exported = original] = name.split(/\s+as\s+/);
      sources.set(exported, exported === original ? file(spec) : { file: file(spec), original });
    }
  }
  return sources;
}

/**
 * `import { unary, ContainersClient } from '@berth/proto'` → one import per defining module. esbuild
 * gives a file to the chunks of every entry point that reaches it through any import, used or not:
 * through the index, every command reached every service's generated code, so `ps` loaded all of
 * it (~0.4 MB). Imported directly, the Containers code goes only to the commands that call it.
 * Names the map does not know, and `import type`, stay as they were.
 */
function directProtoImports(text, sources, suffix = '') {
  return text.replace(/^import \{([^}]*)\} from '@berth\/proto';/gm, (whole, list) => {
    const byFile = new Map();
    const rest = [];
    for (const spec of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (spec.startsWith('type ')) continue; // erased
      const [name, local = name] = spec.split(/\s+as\s+/);
      const source = sources.get(name);
      if (source === undefined) rest.push(spec);
      else if (typeof source === 'string') byFile.set(source, [...(byFile.get(source) ?? []), spec]);
      else byFile.set(source.file, [...(byFile.get(source.file) ?? []), `${source.original} as ${local}`]);
    }
    const own = (source) => (source.includes(GENERATED) && !source.includes('?') ? `${source}${suffix}` : source);
    const lines = [...byFile].map(([source, specs]) => `import { ${specs.join(', ')} } from ${JSON.stringify(own(source))};`);
    if (rest.length > 0) lines.push(`import { ${rest.join(', ')} } from '@berth/proto';`);
    return lines.join(' ');
  });
}

// Rewrites of TypeScript sources as they are read:
// - `import.meta.url` in a bundled file is replaced by the URL of its source file, so that what a
//   module finds beside itself (libs/runtime's seccomp profile and attach relay source, the
//   repository root of libs/platform, the CLI's package.json) is found as under tsx, wherever the
//   bundle and its chunks are;
// - imports from @berth/proto name the modules that define what they import (directProtoImports);
// - in libs/proto's generated code, each service's `XClient = makeGenericClientConstructor(…)` moves
//   to a module of its own (clientModules), so that a bundle that uses a service's messages but not
//   its client (the CLI's `ps` uses Empty and Filter of images.ts, and calls Containers over
//   apps/cli unary-transport.ts) neither keeps that client nor loads @grpc/grpc-js for it: esbuild
//   puts a file whole into one chunk, so a client class used by `logs` in the generated file made
//   `ps`, which shares the file, load grpc-js too.
const sourceRewrites = {
  name: 'source-rewrites',
  setup(b) {
    let sources;
    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      const original = await readFile(args.path, 'utf8');
      let text = original.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      const copy = OWN_MESSAGES.get(relative(REPO_ROOT, args.path));
      const own = copy === undefined ? '' : `${OWN_SUFFIX}${copy}`;
      if (text.includes("from '@berth/proto'") && !args.path.includes('/libs/proto/')) text = directProtoImports(text, (sources ??= protoExportSources()), own);
      if (args.path.includes(GENERATED)) text = text.replace(CLIENT_CLASS, '');
      return text === original ? undefined : { contents: text, loader: 'ts' };
    });
  },
};

// The module of one generated client class, `<generated file>?client=ContainersClient` (the names
// protoExportSources gives): grpc-js's client constructor over the generated service definition.
const clientModules = {
  name: 'client-modules',
  setup(b) {
    b.onResolve({ filter: /\?client=\w+$/ }, (args) => ({ path: args.path, namespace: 'berth-client', sideEffects: false }));
    b.onLoad({ filter: /.*/, namespace: 'berth-client' }, async (args) => {
      const [file, name] = args.path.split(CLIENT_SUFFIX);
      const text = await readFile(file, 'utf8');
      const found = [...text.matchAll(CLIENT_CLASS)].find((m) => m[1] === name);
      if (!found) return { errors: [{ text: `${file} defines no client class ${name}` }] };
      const [, , definition, serviceName] = found;
      return {
        contents: `import { makeGenericClientConstructor } from '@grpc/grpc-js';\nimport { ${definition} } from ${JSON.stringify(file)};\nexport const ${name} = makeGenericClientConstructor(${definition}, ${serviceName});\n`,
        loader: 'ts',
        resolveDir: dirname(file),
      };
    });
  },
};

// A copy of a generated module (OWN_MESSAGES): the generated text without its client classes, in a
// namespace of its own, whose imports of the other generated modules are the same copy's.
const ownMessages = {
  name: 'own-messages',
  setup(b) {
    b.onResolve({ filter: /\?own=/ }, (args) => ({ path: args.path, namespace: 'berth-own', sideEffects: false }));
    b.onResolve({ filter: /^\.\//, namespace: 'berth-own' }, (args) => {
      const [file, copy] = args.importer.split(OWN_SUFFIX);
      return { path: `${resolve(dirname(file), args.path.replace(/\.js$/, '.ts'))}${OWN_SUFFIX}${copy}`, namespace: 'berth-own', sideEffects: false };
    });
    b.onLoad({ filter: /.*/, namespace: 'berth-own' }, async (args) => {
      const [file] = args.path.split(OWN_SUFFIX);
      return { contents: (await readFile(file, 'utf8')).replace(CLIENT_CLASS, ''), loader: 'ts', resolveDir: dirname(file) };
    });
  },
};

// Berth's own libraries have no import-time side effects that matter when none of a module's
// exports is used (no bare `import './x.js'` anywhere): told so, esbuild leaves out whatever a
// library's index.ts re-exports that the entry point never uses — `berth ps` shows a PORTS column
// with libs/network's displayPorts and no longer loads the rest of libs/network (nats, pino, …).
// Nor does an `import { … } from '@grpc/grpc-js'` whose names all went unused need the package:
// libs/proto's generated modules import it for their client classes, which the CLI's unary
// commands never use (apps/cli unary-transport.ts) — without this, every command that uses a
// service's messages would still load grpc-js (~400 KB). A module that uses any of its names
// requires it whole, as before (it is CommonJS: its own requires and set-up run as always).
const pureLibraries = {
  name: 'pure-libraries',
  setup(b) {
    b.onResolve({ filter: /^(@berth\/|\.\.?\/|@grpc\/grpc-js$)/ }, async (args) => {
      if (args.pluginData?.pureLibraries) return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { pureLibraries: true } });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (args.path === '@grpc/grpc-js') return { ...resolved, sideEffects: false };
      if (!resolved.path.includes('/libs/') || resolved.path.includes('/node_modules/')) return resolved;
      return { ...resolved, sideEffects: false };
    });
  },
};

/** esbuild's options for bundling `entry` (a path relative to the repository root) into `outdir`. */
export function bundleOptions(entry, outdir) {
  return {
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: 'tsconfig.json',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // CommonJS dependencies (grpc-js, …) call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __berthCreateRequire } from 'module'; const require = __berthCreateRequire(import.meta.url);" },
    outdir,
    outExtension: { '.js': '.mjs' },
    entryNames: 'main',
    logLevel: 'warning',
    // A native addon finds its .node file from its own package directory: it stays in node_modules.
    // grpc-js requires @grpc/proto-loader (and through it protobufjs, ~180 KB) only inside channelz
    // and ORCA functions Berth never calls: left out, every command and service parses that much less.
    external: ['better-sqlite3', '@grpc/proto-loader'],
    plugins: [clientModules, ownMessages, pureLibraries, sourceRewrites],
  };
}
