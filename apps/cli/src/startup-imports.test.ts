import { resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

/**
 * The modules every `berth` command loads before it runs (the static import graph of main.ts; each
 * command's own code is imported when it runs). `--version`, `help` and flag errors must not pay
 * for gRPC, protobuf, NATS or a logger: twice a change to the command tables made every command
 * load them (bench/README.md, "CLI start-up").
 */
async function startupModules(): Promise<string[]> {
  const result = await build({
    entryPoints: [resolve(ROOT, 'apps/cli/src/main.ts')],
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: resolve(ROOT, 'tsconfig.json'),
    outdir: 'unused',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['better-sqlite3', '@grpc/proto-loader'],
  });
  const inputs = result.metafile.inputs;
  const seen = new Set(['apps/cli/src/main.ts']);
  const queue = ['apps/cli/src/main.ts'];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imp of inputs[file]?.imports ?? []) {
      if (imp.external || (imp.kind !== 'import-statement' && imp.kind !== 'require-call') || seen.has(imp.path)) continue;
      seen.add(imp.path);
      queue.push(imp.path);
    }
  }
  return [...seen];
}

describe('what every command loads at start-up', () => {
  it('is the command tables and flag parsing, not gRPC, protobuf, NATS or a logger', async () => {
    const modules = await startupModules();
    const heavy = modules.filter((m) => /node_modules\/(@grpc|nats|pino|protobufjs|ajv|js-yaml)\/|libs\/proto\/src\/generated\//.test(m));
    expect(heavy).toEqual([]);
    // Today 42 modules; a little room, not a second world.
    expect(modules.length).toBeLessThan(80);
  }, 30_000);
});
