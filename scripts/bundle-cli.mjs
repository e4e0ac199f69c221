// Bundles the CLI into apps/cli/dist (scripts/build-cli runs it): what `./berth` runs.
//
//   node scripts/bundle-cli.mjs
//
// - esbuild bundles apps/cli/src/run-main.ts with code splitting, as scripts/bundle.mjs does a
//   service (bundle-options.mjs): each command's handler and what only it uses are files of their
//   own, loaded when the command runs;
// - each file is then turned into CommonJS (`import` → `require`, `import()` → a promise of it),
//   so that apps/cli/src/launch/ can compile it with `vm.Script` and V8's code cache, which Node
//   20 offers only for scripts (bench/README.md, "CLI start-up");
// - manifest.json names every file with its SHA-256, the key of its code cache;
// - main.cjs is the loader (apps/cli/src/launch/launch.ts), bundled alone;
// - sources.json lists the repository's files the bundle was made from (esbuild's metafile, without
//   node_modules, which package-lock.json stands for): the `berth` launcher runs the bundle only
//   while none of them is newer than it.
// The output is written beside apps/cli/dist then renamed over it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { build, transform } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const outdir = 'apps/cli/dist';
const tmp = `${outdir}.tmp`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

const options = bundleOptions('apps/cli/src/run-main.ts', tmp);
delete options.banner; // the loader gives each file its `require`
const esm = await build({ ...options, entryNames: '[name]', outExtension: { '.js': '.js' }, write: false, metafile: true });
const manifest = {};
for (const file of esm.outputFiles) {
  const name = basename(file.path);
  const cjs = await transform(file.text, { format: 'cjs', target: 'node20', supported: { 'dynamic-import': false }, minifyWhitespace: true, minifySyntax: true, logLevel: 'warning', sourcefile: name });
  if (/\bimport\.meta\b/.test(cjs.code)) throw new Error(`${name}: import.meta left in the CLI bundle (bundle-options.mjs replaces import.meta.url in Berth's sources only)`);
  writeFileSync(join(tmp, name), cjs.code);
  manifest[name] = createHash('sha256').update(cjs.code).digest('hex');
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
const sources = new Set([...Object.keys(esm.metafile.inputs), ...Object.keys(loader.metafile.inputs)].map(fileOf).filter((f) => !f.split('/').includes('node_modules')));
// The launcher takes a missing source for a changed one: every name must be a file, or `berth` would
// always fall back to tsx.
for (const f of sources) if (!existsSync(f)) throw new Error(`sources.json: "${f}" is not a file (an esbuild input this script does not map to one)`);
writeFileSync(join(tmp, 'sources.json'), `${JSON.stringify([...sources].sort(), null, 1)}\n`);
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
