// What each lazily imported module of a bundle loads: for every entry (main.mjs and each dynamic
// import), the output files it imports statically, transitively, and their bytes. A tool for
// bench/README.md's measurements:
//
//   node scripts/bundle-closure.mjs ENTRY.ts [FILTER...]      e.g. apps/cli/src/main.ts commands/containers
//   DETAIL=chunk-XXXX.mjs node scripts/bundle-closure.mjs …    also the biggest inputs of one output file
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const [entry, ...filters] = process.argv.slice(2);
const result = await build({ ...bundleOptions(entry, '/tmp/bundle-closure-unused'), write: false, metafile: true, logLevel: 'error' });
const outputs = result.metafile.outputs;
const closure = (start) => {
  const seen = new Set([start]);
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imp of outputs[file].imports) {
      if (imp.kind !== 'import-statement' || imp.external || seen.has(imp.path)) continue;
      seen.add(imp.path);
      queue.push(imp.path);
    }
  }
  return [...seen];
};
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
for (const [name, output] of Object.entries(outputs)) {
  if (!output.entryPoint && name !== Object.keys(outputs)[0]) continue;
  if (filters.length > 0 && !filters.some((f) => (output.entryPoint ?? name).includes(f))) continue;
  const files = closure(name);
  const total = files.reduce((sum, f) => sum + outputs[f].bytes, 0);
  console.log(`${output.entryPoint ?? name}: ${kb(total)} — ${files.map((f) => `${f.split('/').pop()} ${kb(outputs[f].bytes)}`).join(', ')}`);
}
if (process.env.DETAIL) {
  const [, output] = Object.entries(outputs).find(([name]) => name.endsWith(process.env.DETAIL)) ?? [];
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {}).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 40)) {
    console.log(`${kb(bytesInOutput).padStart(8)}  ${input}`);
  }
}
