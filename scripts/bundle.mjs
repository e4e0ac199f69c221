// Bundles one entry point of Berth (a service's or the CLI's main.ts) into `<outdir>/main.mjs` plus
// chunks that are imported only when asked for (esbuild's code splitting), without comments or
// whitespace: what `berth` and `berth platform up` run instead of TypeScript through tsx.
//
//   node scripts/bundle.mjs ENTRY.ts OUTDIR
//
// `import.meta.url` in a bundled file is replaced by the URL of its source file, so that what a
// module finds beside itself (libs/runtime's seccomp profile and attach relay source, the
// repository root of libs/platform, the CLI's package.json) is found as under tsx, wherever the
// bundle and its chunks are. The output is written beside OUTDIR then renamed over it: a running
// process imported its chunks at start-up or imports lazily ones named by their content's hash.
import { renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const [entry, outdir] = process.argv.slice(2);
if (!entry || !outdir) {
  console.error('usage: node scripts/bundle.mjs ENTRY.ts OUTDIR');
  process.exit(2);
}

const sourceUrls = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

// Berth's own libraries have no import-time side effects that matter when none of a module's
// exports is used (no bare `import './x.js'` anywhere): told so, esbuild leaves out whatever a
// library's index.ts re-exports that the entry point never uses — `berth ps` shows a PORTS column
// with libs/network's displayPorts and no longer loads the rest of libs/network (nats, pino, …).
const pureLibraries = {
  name: 'pure-libraries',
  setup(b) {
    b.onResolve({ filter: /^(@berth\/|\.\.?\/)/ }, async (args) => {
      if (args.pluginData?.pureLibraries) return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { pureLibraries: true } });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (!resolved.path.includes('/libs/') || resolved.path.includes('/node_modules/')) return resolved;
      return { ...resolved, sideEffects: false };
    });
  },
};

const tmp = `${outdir}.tmp`;
rmSync(tmp, { recursive: true, force: true });
await build({
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
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  entryNames: 'main',
  logLevel: 'warning',
  // A native addon finds its .node file from its own package directory: it stays in node_modules.
  // grpc-js requires @grpc/proto-loader (and through it protobufjs, ~180 KB) only inside channelz
  // and ORCA functions Berth never calls: left out, every command and service parses that much less.
  external: ['better-sqlite3', '@grpc/proto-loader'],
  plugins: [pureLibraries, sourceUrls],
});
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
