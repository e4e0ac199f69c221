// The prototype of the CLI's start from a V8 user-land startup snapshot (issue 11; bench/README.md,
// "CLI start from a startup snapshot"), kept to re-measure it, not used by `berth`. compare.sh runs it.
//
// Node 20 requires only built-in modules while it builds a snapshot, so this one file reads the CLI
// bundle's packs (apps/cli/dist, made by scripts/build-cli) and runs their modules with its own `require`:
//   BERTH_SNAP_DIST=DIR BERTH_SNAP_PRELOAD=a.js,b.js node --snapshot-blob B --build-snapshot entry.cjs
// runs run-main.js and the named files into the snapshot; `node --snapshot-blob B -- ARGS` is then
// `berth ARGS`. Without --build-snapshot, BERTH_SNAP_TRACE=FILE node entry.cjs ARGS runs the CLI
// the same way and writes the bundle files ARGS loaded to FILE (what to preload).
//
// Two traps of Node 20.20 found with it:
// - node:http2 cannot be in a snapshot: it loads node:http, whose HTTPParser binding V8 cannot
//   serialize ("global handle not serialized", then a crash), so the light transport's http2 is
//   required at run time (a proxy stands for it while building);
// - V8 installs its flag-gated built-ins (Array.prototype.toSorted, which node:http uses at load)
//   into a context only after deserializing it: they are missing while building, and a stand-in left
//   in the snapshot makes every start abort ("Check failed: current_key != *desc->GetKey()").
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const building = v8.startupSnapshot.isBuildingSnapshot();
const dist = building ? process.env.BERTH_SNAP_DIST : path.join(__dirname, '../../apps/cli/dist');
if (!dist) throw new Error('BERTH_SNAP_DIST: the CLI bundle directory (apps/cli/dist, absolute)');
if (building && !Array.prototype.toSorted) {
  Object.defineProperty(Array.prototype, 'toSorted', { value: function toSorted(cmp) { return Array.prototype.slice.call(this).sort(cmp); }, writable: true, configurable: true });
  v8.startupSnapshot.addSerializeCallback(() => delete Array.prototype.toSorted);
}

let nodeRequire = require; // built-ins only while building; the bundle's own resolution at run time
let running = !building;
const AT_RUN_TIME = new Set(['node:http2']);
const atRunTime = (spec) => {
  let mod;
  const get = () => {
    if (!running) throw new Error(`${spec} used while building the snapshot`);
    return (mod ??= nodeRequire(spec));
  };
  return new Proxy({}, { get: (_, key) => get()[key], has: (_, key) => key in get() });
};
const modules = new Map();
const defined = new Map();
const loaded = [];
// The bundle's modules come in packs (scripts/cli-pack.mjs): the manifest names each module's.
const homes = JSON.parse(fs.readFileSync(path.join(dist, 'manifest.json'), 'utf8')).modules;
const define = (name, fn) => defined.has(name) || defined.set(name, fn);
const bundleRequire = (spec) => (spec.startsWith('./') ? load(spec.slice(2)) : building && AT_RUN_TIME.has(spec) ? atRunTime(spec) : nodeRequire(spec));
function load(name) {
  const known = modules.get(name);
  if (known) return known.exports;
  const module = { exports: {} };
  modules.set(name, module);
  loaded.push(name);
  if (!defined.has(name)) {
    const filename = path.join(dist, homes[name]);
    vm.runInThisContext(fs.readFileSync(filename, 'utf8'), { filename })(define);
  }
  defined.get(name)(module.exports, bundleRequire, module, path.join(dist, name), dist);
  return module.exports;
}

const main = load('run-main.js');
if (building) {
  for (const name of (process.env.BERTH_SNAP_PRELOAD || '').split(',').filter(Boolean)) load(name);
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    nodeRequire = require('node:module').createRequire(path.join(dist, 'main.cjs'));
    running = true;
    process.argv.splice(1, 0, 'berth'); // `node --snapshot-blob B -- ps`: argv is [node, 'ps']
    main.runMain();
  });
} else {
  if (process.env.BERTH_SNAP_TRACE) process.once('exit', () => fs.writeFileSync(process.env.BERTH_SNAP_TRACE, loaded.join(',')));
  main.runMain();
}
