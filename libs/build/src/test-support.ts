/** Support for libs/build's own tests (not exported from the library): a builder on a temp data root. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentStore } from '@berth/content';
import { ImageStore } from '@berth/images';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { ConmonRuntime, resolveCommand } from '@berth/runtime';
import { mountAll, OverlaySnapshotter, unmount } from '@berth/snapshots';
import { writeFiles, type FileSpec } from '@berth/testing';
import { LocalWorker, runTask, unmountBelow } from '@berth/worker';
import type { BuildRequest, BuildResult } from './build-request.js';
import { Builder, type BuilderOptions } from './builder.js';

/**
 * A builder on a temporary data root for tests: busybox bootstrapped, the host's stores behind a
 * LocalWorker (the same code the agent serves over gRPC), RUN steps in runc through conmon.
 * `close()` deletes leftover containers, unmounts whatever is mounted under the roots and removes
 * them, even after a failed test.
 */
export class BuildHarness {
  private constructor(
    readonly dataRoot: string,
    readonly runRoot: string,
    readonly db: MetadataDb,
    readonly content: ContentStore,
    readonly snapshotter: OverlaySnapshotter,
    readonly images: ImageStore,
    readonly runtime: ConmonRuntime,
    readonly worker: LocalWorker,
    readonly builder: Builder,
  ) {}

  static async open(): Promise<BuildHarness> {
    const dataRoot = await mkdtemp(join(tmpdir(), 'berth-builder-'));
    const runRoot = await mkdtemp(join(tmpdir(), 'berth-builder-run-'));
    const db = openMetadataDb(join(dataRoot, 'metadata.db'));
    const content = new ContentStore(join(dataRoot, 'content'));
    const snapshotter = new OverlaySnapshotter(join(dataRoot, 'snapshots'));
    let worker: LocalWorker | undefined;
    const images = new ImageStore({ db, content, snapshotter, held: (r) => worker?.leaseManager.holds(r) ?? false });
    const runtime = new ConmonRuntime({
      root: join(runRoot, 'runc'),
      exitDir: join(runRoot, 'exits'),
      persistDir: join(dataRoot, 'conmon'),
      socketDir: join(runRoot, 'sockets'),
    });
    worker = new LocalWorker({ dataRoot, content, snapshotter, images, runtime });
    const builder = new Builder({ worker, workDir: join(dataRoot, 'builder') });
    const h = new BuildHarness(dataRoot, runRoot, db, content, snapshotter, images, runtime, worker, builder);
    await images.bootstrap('busybox');
    return h;
  }

  /** A new builder on the same data root (as after a restart), with `options` besides. */
  reopen(options: Omit<BuilderOptions, 'worker' | 'workDir'> = {}): Builder {
    return new Builder({ ...options, worker: this.worker, workDir: join(this.dataRoot, 'builder') });
  }

  /** Writes `files` (path → content, or {content, mode}) into a fresh context directory. */
  async context(files: Record<string, FileSpec>): Promise<string> {
    const dir = await mkdtemp(join(this.dataRoot, 'ctx-'));
    await writeFiles(dir, files);
    return dir;
  }

  /** Builds with the directory `dir` as context (tarred by the host's tar, as is). */
  async build(dir: string, request: Omit<BuildRequest, 'context'> = {}, lines?: string[]): Promise<BuildResult> {
    return this.builder.build({ ...request, context: tarStream(dir) }, { onProgress: (l) => lines?.push(l) });
  }

  /**
   * Runs the image's default command (or `cmd`, replacing CMD) as `docker run` would and returns
   * its output and exit code.
   */
  async run(image: string, cmd?: string[]): Promise<{ output: string; exitCode: number }> {
    const record = await this.images.resolve(image);
    const parent = await this.images.unpack(record.id);
    const key = `test-run-${randomBytes(6).toString('hex')}`;
    const bundle = join(this.dataRoot, key);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    const mounts = await this.snapshotter.prepare(key, parent);
    await mountAll(mounts, rootfs);
    try {
      const config = record.config.config ?? {};
      const args = resolveCommand(config, cmd ? { cmd } : {});
      let output = '';
      const exitCode = await runTask(this.runtime, {
        id: key,
        bundle,
        rootfs,
        args,
        env: config.Env ?? [],
        cwd: config.WorkingDir || '/',
        ...(config.User ? { user: config.User } : {}),
        onOutput: (t: string) => (output += t),
      });
      return { output, exitCode };
    } finally {
      await unmount(rootfs).catch(() => undefined); // the close() sweep gets what stays
      await this.snapshotter.remove(key).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** Runs `/bin/sh -c script` in the image and returns its output; a non-zero exit throws (with the output). */
  async sh(image: string, script: string): Promise<string> {
    const { output, exitCode } = await this.run(image, ['/bin/sh', '-c', script]);
    if (exitCode !== 0) throw new Error(`"${script}" in ${image} exited with ${exitCode}: ${output}`);
    return output;
  }

  async close(): Promise<void> {
    for (const c of await this.runtime.list().catch(() => [])) await this.runtime.delete(c.id, { force: true }).catch(() => undefined);
    await unmountBelow(this.dataRoot).catch(() => undefined); // best effort: the rm below reports nothing either
    await unmountBelow(this.runRoot).catch(() => undefined);
    this.builder.close();
    await this.worker.close();
    this.snapshotter.close();
    this.db.close();
    await rm(this.dataRoot, { recursive: true, force: true });
    await rm(this.runRoot, { recursive: true, force: true });
  }
}

/** `tar -C dir -cf - .` as a stream (tar starts when the stream is first read). */
export async function* tarStream(dir: string): AsyncGenerator<Uint8Array> {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const chunk of child.stdout) yield chunk as Buffer;
}
