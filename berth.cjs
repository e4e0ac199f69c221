#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --
// The `berth` command line: runs the CLI's bundle (apps/cli/dist/main.cjs, made by scripts/build-cli,
// which setup and `npm test` run) while none of the files it was made from (dist/sources.json) and
// no dependency (package-lock.json) is newer than it, so that an edit never runs stale code;
// otherwise apps/cli/src/main.ts through tsx. BERTH_NO_BUNDLE=1 always takes tsx. The files of
// main.pack.js (what every command loads) are checked first; those of a command's pack when it is
// loaded (~175 stats for `ps` instead of ~330: ~2 ms; bench/README.md).
//
// A Node script, not a shell script: bash, its subshells and a `find` over the sources cost 10–40 ms
// before Node even started (bench/README.md); these stats cost a few ms. `node --` in the first
// line: without the `--`, Node 20 reads an `--env-file` anywhere in argv as its own option
// (`berth run --env-file ./nope.env` died with "node: ./nope.env: not found").
// CommonJS (berth.cjs; `berth` is a link to it): Node resolves the main script's links
// (/usr/local/bin/berth → berth → berth.cjs), so the `.cjs` name makes it CommonJS and __dirname
// is the checkout. As an ES module (the package's type) it cost ~10 ms CPU more of every command:
// Node's ES module loader set up for one file (bench/README.md, "ps, inspect, rm and --version,
// 4 December 2026").
//
// `-u NODE_EXTRA_CA_CERTS`, handed over as BERTH_EXTRA_CA_CERTS and put back below: Node 20 reads and
// parses that file, with its own ~140 root certificates, as it starts, before any script runs: 40 ms
// of every command's start where the variable is set, as on this project's machines (`node -e 0`
// 90 → 50 ms; bench/README.md, "The extra CA certificates"). No command's own TLS relies on it
// (the gateway's TLS takes its CA from --tlscacert); put back, it reaches every process the CLI
// starts (the services of `berth platform up`, which pull over TLS).
const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const handedOver = process.env.BERTH_EXTRA_CA_CERTS;
if (handedOver !== undefined) {
  delete process.env.BERTH_EXTRA_CA_CERTS;
  if (handedOver) process.env.NODE_EXTRA_CA_CERTS = handedOver;
}

const root = __dirname;
const bundle = join(root, 'apps/cli/dist/main.cjs');

/**
 * What the bundle was made from (apps/cli/dist/sources.json: main's files, and each pack's beyond
 * them, as indexes into `files`) and when, unless BERTH_NO_BUNDLE is set or there is no bundle (or
 * one older than that file).
 */
function bundleSources() {
  if (process.env.BERTH_NO_BUNDLE) return undefined;
  try {
    const built = statSync(bundle).mtimeMs;
    const { files, main, packs } = JSON.parse(readFileSync(join(root, 'apps/cli/dist/sources.json'), 'utf8'));
    return Array.isArray(files) && Array.isArray(main) && packs ? { built, files, main, packs } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first of `files` (repository paths) newer than the bundle, or missing (renamed, deleted: tsx
 * then says what no longer resolves); undefined when none is. `${root}/${f}`, not path.join: its normalising made
 * these stats cost 25 ms instead of 9 at load ≈ 10 (bench/README.md, "CLI start from a startup
 * snapshot"); the names are already normal.
 */
function changed(files, built) {
  return files.find((f) => (statSync(`${root}/${f}`, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) > built);
}

/** The CLI from its sources, through tsx, in this process. */
function runSources() {
  // tsx reads the repository's tsconfig.json for the @berth/* path aliases, wherever the command is run from.
  void (async () => {
    const { register } = await import('tsx/esm/api');
    register({ tsconfig: join(root, 'tsconfig.json') });
    await import(pathToFileURL(join(root, 'apps/cli/src/main.ts')).href);
  })();
}

/**
 * This command again from the sources, in a process of its own, whose exit this process takes:
 * the bundle's own start has run by now (it parsed the command line, nothing more).
 */
function rerunSources() {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, ['--', __filename, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, BERTH_NO_BUNDLE: '1' } });
  if (r.error) throw r.error;
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

const sources = bundleSources();
if (sources && changed([...sources.main.map((i) => sources.files[i]), 'package-lock.json'], sources.built) === undefined) {
  // Each pack's files as it is about to be loaded: the command's pack comes first, before the command
  // has done anything, and lists what the packs it loads later are made from too. A source of the
  // command's pack changed: the command runs from the sources. One of a pack loaded later and not in
  // that list (none today; a command that reached another command's pack): too late to start again,
  // so the command fails and says why.
  const checked = new Set();
  let first = true;
  require(bundle).launch({
    beforePack(pack) {
      const files = sources.packs[pack];
      if (files === undefined) return; // main.pack.js, checked above
      const fresh = files.filter((i) => !checked.has(i));
      for (const i of fresh) checked.add(i);
      const stale = changed(fresh.map((i) => sources.files[i]), sources.built);
      const before = first;
      first = false;
      if (stale === undefined) return;
      if (before) rerunSources();
      throw new Error(`${stale} changed after the CLI was bundled: run scripts/build-cli (or BERTH_NO_BUNDLE=1 to run the sources)`);
    },
  });
} else {
  runSources();
}
