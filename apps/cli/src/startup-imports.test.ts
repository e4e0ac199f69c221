import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
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

/**
 * The CLI bundle as scripts/bundle-cli.mjs makes it (same options, in memory), and for one command
 * module the bundle files it loads before it runs: its own and what they import, transitively.
 */
let cliBundle: Promise<Metafile> | undefined;

async function bundleMetafile(): Promise<Metafile> {
  const { bundleOptions } = (await import(pathToFileURL(resolve(ROOT, 'scripts/bundle-options.mjs')).href)) as {
    bundleOptions: (entry: string, outdir: string) => BuildOptions;
  };
  const cwd = process.cwd();
  process.chdir(ROOT); // the options name the tsconfig relative to the repository
  try {
    return (await build({ ...bundleOptions('apps/cli/src/run-main.ts', 'unused'), write: false, metafile: true, logLevel: 'silent' })).metafile;
  } finally {
    process.chdir(cwd);
  }
}

async function commandLoad(source: string): Promise<{ bytes: number; inputs: string[]; builtins: string[] }> {
  const outputs = (await (cliBundle ??= bundleMetafile())).outputs;
  const entry = Object.keys(outputs).find((name) => outputs[name]!.entryPoint === source);
  if (!entry) throw new Error(`${source} is not an entry of the CLI bundle`);
  const seen = new Set([entry]);
  const builtins = new Set<string>();
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imp of outputs[file]!.imports) {
      if (imp.external && imp.kind === 'import-statement') builtins.add(imp.path.replace(/^node:/, ''));
      if (imp.external || imp.kind !== 'import-statement' || seen.has(imp.path)) continue;
      seen.add(imp.path);
      queue.push(imp.path);
    }
  }
  return {
    bytes: [...seen].reduce((sum, file) => sum + outputs[file]!.bytes, 0),
    inputs: [...seen].flatMap((file) => Object.keys(outputs[file]!.inputs)),
    builtins: [...builtins].sort(),
  };
}

describe('what `ps`, `inspect` and `rm` load', () => {
  it.each([
    // rm, stop, start, kill, …: one unary call per container (logs and export stream: container-streams.ts,
    // with grpc-js); images.ts (here and for `ps`) for what the Containers messages use of it (Empty, …).
    ['containers', 'containers', ['containers.ts', 'images.ts'], 100],
    ['container-list', 'ps', ['containers.ts', 'images.ts'], 115],
    ['container-remove', 'rm', ['containers.ts'], 80],
    // images.ts for `inspect` of an image, networks.ts and volumes.ts for `inspect`'s other fallbacks.
    ['inspect', 'inspect', ['containers.ts', 'images.ts', 'networks.ts', 'volumes.ts'], 90],
  ] as const)('commands/%s.ts is its own copy of the messages it sends and receives, not every Containers message, not every service\'s, and not grpc-js', async (module, copy, files, kb) => {
    const { bytes, inputs } = await commandLoad(`apps/cli/src/commands/${module}.ts`);
    const generated = inputs.filter((i) => i.includes('libs/proto/src/generated/'));
    // Each a copy of its own (scripts/bundle-options.mjs OWN_MESSAGES).
    expect(generated.map((i) => i.replace(/.*\/v1\//, '')).sort()).toEqual(files.map((f) => `${f}?own=${copy}`));
    expect(inputs.filter((i) => /node_modules\/(@grpc|nats|pino|ajv|js-yaml|protobufjs)\//.test(i))).toEqual([]);
    // 2026-12-03: 338 KB (721 KB with grpc-js, 854 KB before the per-service split); 2026-12-05:
    // 125 KB with copies of their own messages (bench/README.md, "ps, inspect, rm: only the messages
    // they use"); as modules of their own, 86 (rm), 102 (ps) and 75 KB (inspect) ("ps, inspect, rm: a pack per
    // command").
    expect(bytes).toBeLessThan(kb * 1024);
  }, 60_000);

  it('`run` loads its own copy of the messages it sends and receives too', async () => {
    const { bytes, inputs } = await commandLoad('apps/cli/src/commands/run.ts');
    const generated = inputs.filter((i) => i.includes('libs/proto/src/generated/')).map((i) => i.replace(/.*\/v1\//, ''));
    expect(generated.sort()).toEqual(['containers.ts?own=run', 'images.ts?own=run']);
    // 2026-12-05: 248 KB with every Containers message, 146 KB with its own.
    expect(bytes).toBeLessThan(170 * 1024);
  }, 60_000);

  it('loads neither node:http2 (nor the http, tls, dns it needs) nor node:net: unix-socket calls go over h2/session.ts on the pipe handle', async () => {
    // node:http2 costs ~18 ms of CPU to load; unary-transport.ts imports it only for a TCP gateway
    // (bench/README.md, "ps, inspect, rm: HTTP/2 without node:http2").
    for (const source of ['containers', 'container-list', 'container-remove', 'inspect', 'images', 'networks', 'volumes', 'system']) {
      const { builtins } = await commandLoad(`apps/cli/src/commands/${source}.ts`);
      expect({ source, heavy: builtins.filter((b) => ['http2', 'http', 'https', 'tls', 'dns', 'crypto'].includes(b)) }).toEqual({ source, heavy: [] });
    }
    // Nor node:net, node:stream or node:v8 (each loads node:stream and its 20 modules, ~6.5 ms): the
    // call goes over h2/session.ts on unix-socket.ts, the text out by write(2) (std-output.ts), the
    // code cache's V8 flag set through the binding (bench/README.md, "ps, inspect, rm: no node:net,
    // no node:stream"). launch-modules.test.ts checks what the bundle loads when it runs.
    for (const source of ['containers', 'container-list', 'container-remove', 'inspect', 'run']) {
      const { builtins } = await commandLoad(`apps/cli/src/commands/${source}.ts`);
      expect({ source, stream: builtins.filter((b) => ['net', 'stream', 'v8', 'tty', 'stream/promises'].includes(b)) }).toEqual({ source, stream: [] });
    }
    // Nor node:fs/promises (10 of Node's modules: readline, the file watchers), node:module (the ES
    // module loader) or node:os, for what fs.promises, main.cjs's own require and $HOME give.
    for (const source of ['containers', 'container-list', 'container-remove', 'inspect']) {
      const { builtins } = await commandLoad(`apps/cli/src/commands/${source}.ts`);
      expect({ source, heavy: builtins.filter((b) => ['fs/promises', 'module', 'os'].includes(b)) }).toEqual({ source, heavy: [] });
    }
  }, 60_000);

  it('leaves grpc-js out of every command of unary calls only (images, rmi, networks, port, volumes, info, version, …)', async () => {
    // build: Builder.Build over unary-transport.ts's DuplexCall (575 → 198 KB, bench/README.md);
    // run (attach, exec, start -a): the Attach/Exec/RunAttached streams too (681 → 297 KB), the
    // image pull's stream loaded only when `run` pulls.
    for (const source of ['images', 'networks', 'volumes', 'system', 'nodes', 'registry-admin', 'search', 'build', 'run']) {
      const { inputs } = await commandLoad(`apps/cli/src/commands/${source}.ts`);
      expect({ source, grpc: inputs.filter((i) => /node_modules\/@grpc\/|libs\/proto\/src\/grpc\.ts|\?client=/.test(i)) }).toEqual({ source, grpc: [] });
    }
    // The streaming commands keep it (a check that the filter above can see it at all).
    expect((await commandLoad('apps/cli/src/commands/container-streams.ts')).inputs.some((i) => i.includes('node_modules/@grpc/grpc-js/'))).toBe(true);
  }, 120_000);
});

/** The packs scripts/bundle-cli.mjs makes of the CLI bundle (scripts/cli-pack.mjs), by module name. */
async function bundlePacks(): Promise<{ packs: Map<string, Set<string>>; nameOf: (source: string) => string }> {
  const outputs = (await (cliBundle ??= bundleMetafile())).outputs;
  const { packsOf } = (await import(pathToFileURL(resolve(ROOT, 'scripts/cli-pack.mjs')).href)) as {
    packsOf: (modules: Map<string, { statics: string[]; dynamics: string[] }>, entry: string) => Map<string, Set<string>>;
  };
  const imports = (file: string, kind: string) => outputs[file]!.imports.filter((i) => !i.external && i.kind === kind).map((i) => basename(i.path));
  const modules = new Map(Object.keys(outputs).filter((f) => !f.endsWith('.map')).map((f) => [basename(f), { statics: imports(f, 'import-statement'), dynamics: imports(f, 'dynamic-import') }]));
  const nameOf = (source: string) => basename(Object.keys(outputs).find((name) => outputs[name]!.entryPoint === source)!);
  return { packs: packsOf(modules, nameOf('apps/cli/src/run-main.ts')), nameOf };
}

describe('the files a command reads', () => {
  it('are two: main.pack.js and its command module\'s pack, which hold all it imports (one read, one compile, one code cache each)', async () => {
    // `ps` read 29 files and their caches (bench/README.md, "ps, inspect, rm: two files per command").
    const { packs, nameOf } = await bundlePacks();
    const main = packs.get('main.pack.js')!;
    expect(main.has(nameOf('apps/cli/src/run-main.ts'))).toBe(true);
    for (const source of ['containers', 'container-list', 'container-remove', 'inspect', 'images', 'networks', 'volumes', 'system', 'run', 'build']) {
      const name = nameOf(`apps/cli/src/commands/${source}.ts`);
      const own = packs.get(`${name.replace(/\.js$/, '')}.pack.js`)!;
      const { inputs } = await commandLoad(`apps/cli/src/commands/${source}.ts`);
      // Every source file the command loads is in one of the two packs: nothing else is read.
      const outputs = (await cliBundle!).outputs;
      const packed = new Set([...main, ...own].flatMap((m) => Object.keys(outputs[Object.keys(outputs).find((f) => basename(f) === m)!]!.inputs)));
      expect({ source, missing: inputs.filter((i) => !packed.has(i)) }).toEqual({ source, missing: [] });
      // …and the command's pack holds nothing main.pack.js already has.
      expect({ source, twice: [...own].filter((m) => main.has(m)) }).toEqual({ source, twice: [] });
    }
  }, 60_000);
});
