// Typechecks one Nx project: tsc over the project's .ts files with the repository's compiler
// options (tsconfig.base.json). Files the project imports from other projects are checked too, as
// tsc must read them. The generated tsconfig lives in .nx/ (ignored by git) so that projects need
// no tsconfig of their own.
//   node tools/nx/typecheck-project.mjs libs/oci
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/nx/typecheck-project.mjs <project root>');
  process.exit(2);
}
const dir = join(repo, '.nx', 'typecheck');
const config = join(dir, `${projectRoot.replaceAll('/', '__')}.json`);
const fromDir = (p) => relative(dir, join(repo, p));
mkdirSync(dir, { recursive: true });
writeFileSync(
  config,
  JSON.stringify({
    extends: fromDir('tsconfig.base.json'),
    compilerOptions: { noEmit: true },
    include: [fromDir(`${projectRoot}/**/*.ts`)],
    exclude: [fromDir(`${projectRoot}/**/dist/**`), fromDir(`${projectRoot}/**/node_modules/**`)],
  }),
);
const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: repo, stdio: 'inherit' });
process.exit(tsc.status ?? 1);
