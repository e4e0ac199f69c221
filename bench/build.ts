/**
 * `npx tsx bench/build.ts [--via process|cli] [--context sync|tar] [--files N] [--rounds N] [--keep]`: build times of a
 * 12-step Dockerfile with a 2,000-file context: cold, fully cached, and with one file changed
 * (medians over `--rounds`).
 *
 *   --via process   libs/build's Builder in this process on a LocalWorker (the code the agent
 *                   serves to the builder over gRPC), on a temporary data root (default); the
 *                   context synced (as the CLI does: only changed files move) or, with
 *                   `--context tar`, sent whole as a tar each time
 *   --via cli       `berth build` against a real platform (startTestPlatform: nats, agent,
 *                   builder, gateway as processes): CLI start, gateway and builder hops included
 *
 * Busybox is bootstrapped, RUN steps run in runc through conmon. Cleans up unless --keep.
 * "One file changed" rewrites src/d7/f7.txt, as bench/compare's row does. With
 * `BERTH_BUILD_TRACE=<file>` every build's per-phase timings are appended there (either way:
 * the platform's builder inherits the variable), one JSON line each (docs/dev/build.md).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Builder, type ContextSync } from '@berth/build';
import { ContentStore } from '@berth/content';
import { listContext, packFiles } from '@berth/filesync';
import { ImageStore } from '@berth/images';
import { openMetadataDb } from '@berth/metadata';
import { ConmonRuntime } from '@berth/runtime';
import { OverlaySnapshotter, unmount } from '@berth/snapshots';
import { startTestPlatform } from '@berth/testing';
import { LocalWorker } from '@berth/worker';

const { values } = parseArgs({
  options: {
    via: { type: 'string', default: 'process' },
    context: { type: 'string', default: 'sync' },
    files: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
});
const fileCount = Number(values.files);
const rounds = Number(values.rounds);
if (values.via !== 'process' && values.via !== 'cli') throw new Error(`--via ${values.via}: expected process or cli`);

const DOCKERFILE = `FROM busybox
ARG VERSION=1
ENV APP=/app
WORKDIR /app
COPY src/ ./src/
RUN find src -type f | wc -l > /count
COPY config.txt /etc/app.conf
RUN cat /etc/app.conf > /dev/null
LABEL version=$VERSION
USER app
RUN ls -la /app > /tmp/listing
CMD ["cat", "/count"]
`;

interface Row {
  label: string;
  seconds: number[];
}

/** One build of the context: its wall time in seconds. */
type BuildOnce = (ctx: string) => Promise<number>;

async function makeContext(ctx: string): Promise<void> {
  for (let i = 0; i < fileCount; i++) {
    const dir = join(ctx, 'src', `d${i % 40}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `file ${i}\n`.repeat(20));
  }
  await writeFile(join(ctx, 'config.txt'), 'mode=bench\n');
  await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);
}

async function measure(ctx: string, build: BuildOnce): Promise<Row[]> {
  const cold = { label: 'cold', seconds: [await build(ctx)] };
  const cached: Row = { label: 'fully cached', seconds: [] };
  const changed: Row = { label: 'one file changed', seconds: [] };
  for (let i = 0; i < rounds; i++) {
    cached.seconds.push(await build(ctx));
    await writeFile(join(ctx, 'src', 'd7', 'f7.txt'), `changed ${i} ${Date.now()}\n`); // as bench/compare's row
    changed.seconds.push(await build(ctx));
  }
  return [cold, cached, changed];
}

async function* tar(dir: string): AsyncGenerator<Uint8Array> {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const chunk of child.stdout) yield chunk as Buffer;
}

/** The CLI's side of a file sync, in process. */
async function syncOf(dir: string): Promise<ContextSync> {
  const files = await listContext(dir);
  return {
    key: dir,
    files,
    fetch: (paths) => {
      const wanted = new Set(paths);
      return paths.length === 0 ? (async function* () {})() : packFiles(dir, files.filter((f) => wanted.has(f.path)));
    },
  };
}

async function inProcess(root: string): Promise<Row[]> {
  const run = join(root, 'run');
  const db = openMetadataDb(join(root, 'metadata.db'));
  try {
    const content = new ContentStore(join(root, 'content'));
    const snapshotter = new OverlaySnapshotter(join(root, 'snapshots'));
    const images = new ImageStore({ db, content, snapshotter });
    const runtime = new ConmonRuntime({ root: join(run, 'runc'), exitDir: join(run, 'exits'), persistDir: join(root, 'conmon'), socketDir: join(run, 'sockets') });
    const worker = new LocalWorker({ dataRoot: root, content, snapshotter, images, runtime });
    const builder = new Builder({ worker, workDir: join(root, 'builder'), ...(process.env.BERTH_BUILD_TRACE ? { traceFile: process.env.BERTH_BUILD_TRACE } : {}) });
    await images.bootstrap('busybox');
    const ctx = join(root, 'context');
    await makeContext(ctx);
    try {
      return await measure(ctx, async (dir) => {
        const start = process.hrtime.bigint();
        const t0 = Date.now();
        const context = values.context === 'tar' ? { context: tar(dir) } : { contextSync: await syncOf(dir) };
        await builder.build({ ...context, tags: ['bench:latest'] }, { onProgress: (l: string) => void (process.env.BENCH_DEBUG && console.log(Date.now() - t0, l)) });
        return Number(process.hrtime.bigint() - start) / 1e9;
      });
    } finally {
      builder.close();
      await worker.close();
      snapshotter.close();
    }
  } finally {
    db.close();
  }
}

async function viaCli(root: string): Promise<Row[]> {
  const platform = await startTestPlatform();
  try {
    const boot = await platform.berth(['image', 'bootstrap', 'busybox']);
    if (boot.code !== 0) throw new Error(boot.stderr);
    const ctx = join(root, 'context');
    await makeContext(ctx);
    return await measure(ctx, async (dir) => {
      const start = process.hrtime.bigint();
      const res = await platform.berth(['build', '-q', '-t', 'bench:latest', dir], { timeoutMs: 300_000 });
      if (res.code !== 0) throw new Error(res.stderr);
      return Number(process.hrtime.bigint() - start) / 1e9;
    });
  } finally {
    await platform.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const root = await mkdtemp(join(tmpdir(), 'berth-bench-build-'));
try {
  const rows = values.via === 'cli' ? await viaCli(root) : await inProcess(root);
  console.log(`12-step Dockerfile, ${fileCount}-file context, via ${values.via}${values.via === 'process' ? ` (context ${values.context})` : ''}, ${rounds} rounds (median, min-max in ms)`);
  console.log('build                  median ms   min-max');
  for (const r of rows) {
    const ms = r.seconds.map((s) => s * 1000);
    console.log(`${r.label.padEnd(22)}${median(ms).toFixed(0).padStart(10)}   ${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)}`);
  }
} finally {
  if (!values.keep) {
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => m !== undefined && m.startsWith(root));
    for (const m of mounts.reverse()) await unmount(m).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  } else console.log(`kept ${root}`);
}
