// The text of one pack of the CLI bundle (scripts/bundle-cli.mjs writes them; apps/cli/src/launch/
// chunk-loader.ts reads them): a script that, called with the loader's `define`, gives it the
// function of each module it holds, in the wrapper Node gives a CommonJS module, strict as the ES
// modules they were made from. Each module's text is CommonJS; it ends on a line of its own, so a
// trailing `//` comment cannot swallow the wrapper's end.
//
// Non-ASCII characters are written as \u escapes (there is one, `µs` in a duration's regular
// expression): a file with any is decoded into a two-byte string, twice the size of a one-byte one,
// for V8 to copy and scan.

/** @param {Iterable<[string, string]>} modules name → CommonJS text */
export function packSource(modules) {
  const defines = [...modules].map(([name, code]) => `define(${JSON.stringify(name)}, function (exports, require, module, __filename, __dirname) {${code}\n});\n`);
  const text = `(function (define) {"use strict";\n${defines.join('')}})`;
  return text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The packs of the CLI bundle, each a set of module names: main.pack.js, the entry (run-main.js) and
 * every module it imports statically, which every command loads; and for each module imported
 * dynamically (a command's handlers), `<module>.pack.js`, with every module it imports statically
 * beyond main.pack.js and beyond what every module importing it has loaded already (`compose up`'s
 * handlers after compose's command table). A module can be in several packs.
 *
 * @param {Map<string, { statics: string[], dynamics: string[] }>} modules each output module's imports (names)
 * @returns {Map<string, Set<string>>}
 */
export function packsOf(modules, entry = 'run-main.js') {
  const closure = (name) => {
    const seen = new Set([name]);
    for (const m of seen) for (const i of modules.get(m).statics) seen.add(i);
    return seen;
  };
  const main = closure(entry);
  const packs = new Map([['main.pack.js', main]]);
  for (const target of new Set([...modules.values()].flatMap((m) => m.dynamics))) {
    if (main.has(target)) continue; // already loaded by every command
    const importers = [...modules].filter(([, m]) => m.dynamics.includes(target)).map(([name]) => closure(name));
    const before = (m) => main.has(m) || importers.every((c) => c.has(m));
    packs.set(`${target.replace(/\.js$/, '')}.pack.js`, new Set([...closure(target)].filter((m) => !before(m))));
  }
  return packs;
}
