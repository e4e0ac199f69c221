/**
 * `npx tsx bench/build.ts [--files N] [--keep]`: cold and fully cached build times of a 12-step
 * Dockerfile with a 2,000-file context, in process (libs/build's Builder on a LocalWorker — the
 * code the agent serves to the builder over gRPC — on a temporary data root: busybox
 * bootstrapped, runc through conmon). Prints one table; cleans up unless --keep.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Builder } from '@berth/build';
import { ContentStore } from '@berth/content';
import { ImageStore } from '@berth/images';
import { openMetadataDb } from '@berth/metadata';
import { ConmonRuntime } from '@berth/runtime';
import { OverlaySnapshotter, unmount } from '@berth/snapshots';
import { LocalWorker } from '@berth/worker';

const { values } = parseArgs({ options: { files: { type: 'string', default: '2000' }, keep: { type: 'boolean', default: false } } });
const fileCount = Number(values.files);

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

async function* tar(dir: string): AsyncGenerator<Uint8Array> {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const chunk of child.stdout) yield chunk as Buffer;
}

const root = await mkdtemp(join(tmpdir(), 'berth-bench-build-'));
const run = join(root, 'run');
const db = openMetadataDb(join(root, 'metadata.db'));
try {
  const content = new ContentStore(join(root, 'content'));
  const snapshotter = new OverlaySnapshotter(join(root, 'snapshots'));
  const images = new ImageStore({ db, content, snapshotter });
  const runtime = new ConmonRuntime({ root: join(run, 'runc'), exitDir: join(run, 'exits'), persistDir: join(root, 'conmon'), socketDir: join(run, 'sockets') });
  const worker = new LocalWorker({ dataRoot: root, content, snapshotter, images, runtime });
  const builder = new Builder({ worker, workDir: join(root, 'builder') });
  await images.bootstrap('busybox');

  const ctx = join(root, 'context');
  for (let i = 0; i < fileCount; i++) {
    const dir = join(ctx, 'src', `d${i % 40}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `file ${i}\n`.repeat(20));
  }
  await writeFile(join(ctx, 'config.txt'), 'mode=bench\n');
  await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);

  const time = async (label: string) => {
    const start = process.hrtime.bigint();
    const t0 = Date.now();
    const result = await builder.build({ context: tar(ctx), tags: ['bench:latest'] }, { onProgress: (l: string) => process.env.BENCH_DEBUG && console.log(Date.now() - t0, l) });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { label, seconds, executed: result.executed, cached: result.cached };
  };
  const rows = [await time('cold'), await time('cached')];
  await writeFile(join(ctx, 'config.txt'), 'mode=changed\n');
  rows.push(await time('config.txt changed'));

  console.log(`12-step Dockerfile, ${fileCount}-file context`);
  console.log('build                 seconds  steps run  cached');
  for (const r of rows) console.log(`${r.label.padEnd(22)}${r.seconds.toFixed(2).padStart(7)}  ${String(r.executed).padStart(9)}  ${String(r.cached).padStart(6)}`);
} finally {
  db.close();
  if (!values.keep) {
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => m !== undefined && m.startsWith(root));
    for (const m of mounts.reverse()) await unmount(m).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  } else console.log(`kept ${root}`);
}
