// Bundles one entry point of Berth (a service's or the CLI's main.ts) into `<outdir>/main.mjs` plus
// chunks that are imported only when asked for (esbuild's code splitting), without comments or
// whitespace: what `berth` and `berth platform up` run instead of TypeScript through tsx. The
// options are scripts/bundle-options.mjs's.
//
//   node scripts/bundle.mjs ENTRY.ts OUTDIR
//
// The output is written beside OUTDIR then renamed over it: a running process imported its chunks
// at start-up or imports lazily ones named by their content's hash.
import { renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const [entry, outdir] = process.argv.slice(2);
if (!entry || !outdir) {
  console.error('usage: node scripts/bundle.mjs ENTRY.ts OUTDIR');
  process.exit(2);
}

const tmp = `${outdir}.tmp`;
rmSync(tmp, { recursive: true, force: true });
await build(bundleOptions(entry, tmp));
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
