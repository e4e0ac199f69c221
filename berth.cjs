#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --
// The `berth` command line: runs the CLI's bundle (apps/cli/dist/main.cjs, made by scripts/build-cli,
// which setup and `npm test` run) while none of the files it was made from (dist/sources.json) and
// no dependency (package-lock.json) is newer than it, so that an edit never runs stale code;
// otherwise apps/cli/src/main.ts through tsx, in this process. BERTH_NO_BUNDLE=1 always takes tsx.
//
// A Node script, not a shell script: bash, its subshells and a `find` over the sources cost 10–40 ms
// before Node even started (bench/README.md); these ~300 stats cost a few ms. `node --` in the first
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

/** Whether the bundle was made from the sources as they are now. */
function bundleIsCurrent() {
  if (process.env.BERTH_NO_BUNDLE) return false;
  try {
    const built = statSync(bundle).mtimeMs;
    const sources = JSON.parse(readFileSync(join(root, 'apps/cli/dist/sources.json'), 'utf8'));
    // A source gone (renamed, deleted) counts as changed: tsx then says what no longer resolves.
    // `${root}/${f}`, not path.join: its normalising made these ~300 stats cost 25 ms instead of 9
    // at load ≈ 10 (bench/README.md, "CLI start from a startup snapshot"); the names are already normal.
    return [...sources, 'package-lock.json'].every((f) => (statSync(`${root}/${f}`, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) <= built);
  } catch {
    return false; // no bundle yet, or one made before sources.json existed
  }
}

if (bundleIsCurrent()) {
  require(bundle);
} else {
  // tsx reads the repository's tsconfig.json for the @berth/* path aliases, wherever the command is run from.
  void (async () => {
    const { register } = await import('tsx/esm/api');
    register({ tsconfig: join(root, 'tsconfig.json') });
    await import(pathToFileURL(join(root, 'apps/cli/src/main.ts')).href);
  })();
}
