// Bundles the CLI into apps/cli/dist (scripts/build-cli runs it): what `./berth` runs.
//
//   node scripts/bundle-cli.mjs
//
// - esbuild bundles apps/cli/src/run-main.ts with code splitting, as scripts/bundle.mjs does a
//   service (bundle-options.mjs): each command's handler and what only it uses are modules of their
//   own, loaded when the command runs;
// - each module is then turned into CommonJS (`import` → `require`, `import()` → a promise of it),
//   so that apps/cli/src/launch/ can compile it with `vm.Script` and V8's code cache, which Node
//   20 offers only for scripts (bench/README.md, "CLI start-up");
// - the ~90 modules are written as a few packs, each one file the loader reads and compiles at
//   once (one read, one `vm.Script`, one code cache): main.pack.js holds run-main.js and every module
//   it imports statically (what every command loads), and each module that is imported dynamically
//   (a command's handlers, `platform`, …) has a pack of its own with every module it needs beyond
//   main.pack.js (so a module can be in several packs; it runs once, from the first pack loaded).
//   A pack is a script made of one function per module, pre-wrapped as the loader runs it
//   (cli-pack.mjs, chunk-loader.ts). `ps` read 29 files and their caches; it now reads 2
//   (bench/README.md, "ps, inspect, rm: two files per command, 4 December 2026, evening");
// - manifest.json names every pack with its SHA-256, the key of its code cache, and every module
//   with the pack that holds it;
// - main.cjs is the loader (apps/cli/src/launch/launch.ts), bundled alone;
// - sources.json lists the repository's files the bundle was made from (esbuild's metafile, without
//   node_modules, which package-lock.json stands for): main's, and each pack's beyond them (as
//   indexes into `files`). The
//   `berth` launcher runs the bundle only while none of main's is newer than it, and checks a pack's
//   as the pack is about to be loaded (berth.cjs).
// The output is written beside apps/cli/dist then renamed over it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { build, transform } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';
import { packSource, packsOf } from './cli-pack.mjs';

const outdir = 'apps/cli/dist';
const tmp = `${outdir}.tmp`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

const options = bundleOptions('apps/cli/src/run-main.ts', tmp);
delete options.banner; // the loader gives each file its `require`
const esm = await build({ ...options, entryNames: '[name]', outExtension: { '.js': '.js' }, write: false, metafile: true });
// Each output module's CommonJS text, and the modules it imports statically and dynamically.
const modules = new Map();
for (const file of esm.outputFiles) {
  const name = basename(file.path);
  const cjs = await transform(file.text, { format: 'cjs', target: 'node20', supported: { 'dynamic-import': false }, minifyWhitespace: true, minifySyntax: true, logLevel: 'warning', sourcefile: name });
  if (/\bimport\.meta\b/.test(cjs.code)) throw new Error(`${name}: import.meta left in the CLI bundle (bundle-options.mjs replaces import.meta.url in Berth's sources only)`);
  const meta = esm.metafile.outputs[relative(process.cwd(), file.path)];
  if (!meta) throw new Error(`${name}: not in esbuild's metafile`);
  const imports = (kind) => meta.imports.filter((i) => !i.external && i.kind === kind).map((i) => basename(i.path));
  modules.set(name, { code: cjs.code, statics: imports('import-statement'), dynamics: imports('dynamic-import') });
}
const packs = packsOf(modules);
// Which pack the loader reads for a module: the pack of the module itself when it is imported
// dynamically, else the smallest one that holds it.
const manifest = { packs: {}, modules: {} };
const sizes = new Map();
for (const [pack, names] of packs) {
  const text = packSource([...names].sort().map((n) => [n, modules.get(n).code]));
  writeFileSync(join(tmp, pack), text);
  manifest.packs[pack] = createHash('sha256').update(text).digest('hex');
  sizes.set(pack, text.length);
}
for (const name of [...modules.keys()].sort()) {
  const own = `${name.replace(/\.js$/, '')}.pack.js`;
  const holders = [...packs].filter(([, names]) => names.has(name)).map(([pack]) => pack);
  if (holders.length === 0) throw new Error(`${name}: in no pack (neither run-main.js nor a dynamic import reaches it)`);
  manifest.modules[name] = holders.includes(own) ? own : holders.sort((a, b) => sizes.get(a) - sizes.get(b))[0];
}
writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
const loader = await build({
  entryPoints: ['apps/cli/src/launch/launch.ts'],
  metafile: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  tsconfig: 'tsconfig.json',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  outfile: join(tmp, 'main.cjs'),
  logLevel: 'warning',
});
// A plugin's module (`berth-client:/…/containers.ts?client=ContainersClient`, bundle-options.mjs)
// stands for the file it is made from.
const fileOf = (input) => {
  const plugin = /^[a-z][\w-]*:(\/.*?)(\?.*)?$/.exec(input);
  return plugin ? relative(process.cwd(), plugin[1]) : input;
};
// The repository files behind each part of the bundle, from esbuild's graph of the sources' imports
// (node_modules aside: package-lock.json stands for it): `main`, what main.cjs and main.pack.js are
// made from (the loader's inputs, and what run-main.ts imports statically); and per pack, every file
// its module reaches beyond main's, by any import, so the packs a command loads later are checked
// with the command's own. The launcher (berth.cjs) checks main's before anything runs and a pack's as
// it is about to be loaded: `ps` stats ~170 files, not all ~330.
const inSources = (f) => !f.split('/').includes('node_modules');
const graph = esm.metafile.inputs;
const reach = (from, kinds) => {
  const seen = new Set([from]);
  for (const f of seen) for (const i of graph[f]?.imports ?? []) if (!i.external && kinds.includes(i.kind) && graph[i.path]) seen.add(i.path);
  return seen;
};
const entryOf = (module) => {
  const entry = esm.metafile.outputs[relative(process.cwd(), join(tmp, module))]?.entryPoint;
  if (!entry) throw new Error(`${module}: not an entry point in esbuild's metafile`);
  return entry;
};
const main = new Set([...reach(entryOf('run-main.js'), ['import-statement', 'require-call']), ...Object.keys(loader.metafile.inputs)].map(fileOf).filter(inSources));
const packSources = {};
for (const pack of packs.keys()) {
  if (pack === 'main.pack.js') continue;
  const files = reach(entryOf(pack.replace(/\.pack\.js$/, '.js')), ['import-statement', 'require-call', 'dynamic-import']);
  packSources[pack] = [...new Set([...files].map(fileOf))].filter((f) => inSources(f) && !main.has(f)).sort();
}
const all = new Set([...Object.keys(esm.metafile.inputs), ...Object.keys(loader.metafile.inputs)].map(fileOf).filter(inSources));
const listed = new Set([...main, ...Object.values(packSources).flat()]);
for (const f of all) if (!listed.has(f)) throw new Error(`sources.json: "${f}" is an input of the bundle but neither main's source nor a pack's`);
// The launcher takes a missing source for a changed one: every name must be a file, or `berth` would
// always fall back to tsx.
for (const f of all) if (!existsSync(f)) throw new Error(`sources.json: "${f}" is not a file (an esbuild input this script does not map to one)`);
// The names once, the lists as their indexes: written out name by name, the packs' lists made a
// 120 KB file whose parsing cost every command ~1 ms.
const files = [...all].sort();
const index = new Map(files.map((f, i) => [f, i]));
const indexes = (list) => [...list].sort().map((f) => index.get(f));
const packIndexes = Object.fromEntries(Object.entries(packSources).map(([pack, list]) => [pack, indexes(list)]));
writeFileSync(join(tmp, 'sources.json'), `${JSON.stringify({ files, main: indexes(main), packs: packIndexes })}\n`);
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
