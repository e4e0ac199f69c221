/**
 * An agent killed (kill -9) in the middle of `run -d` (issue 8 §5): at each phase of create and
 * start, the agent dies on the spot (the test-only hook BERTH_TEST_CRASH_AT, see
 * libs/containers/src/crash-point.ts), the CLI reports a failure, and the next agent start leaves
 * no container looking Created, no container directory or snapshot without a record, and handles
 * records whose bundle or snapshot went away. And killed in the middle of `rm`, between moving the
 * container's files into the trash and deleting them: the next start finishes the removal and
 * empties the trash.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformUp } from '@berth/platform';
import { OverlaySnapshotter } from '@berth/snapshots';
import { startBusyboxPlatform, until, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  delete process.env.BERTH_TEST_CRASH_AT;
  await p?.stop();
});

const agentPid = () => Number(readFileSync(join(p.settings.runRoot, 'platform', 'runtime-agent.pid'), 'utf8'));
/**
 * Gone from /proc, not merely a zombie: platformUp takes a zombie for a running service (kill -0
 * succeeds) and would not start a new one. This process spawned the agent, so it reaps it soon.
 */
const alive = (pid: number) => existsSync(`/proc/${pid}`);

async function untilDead(pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`the agent (pid ${pid}) is still alive`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Restarts the agent, with `crashAt` in its environment (or none). */
async function restartAgent(crashAt?: string): Promise<void> {
  const pid = agentPid();
  signalProcess(pid, 'SIGTERM');
  await untilDead(pid);
  if (crashAt) process.env.BERTH_TEST_CRASH_AT = crashAt;
  try {
    await platformUp({ dataRoot: p.dataRoot });
  } finally {
    delete process.env.BERTH_TEST_CRASH_AT;
  }
}

const status = async (name: string) => (await p.berth(['inspect', '--format', '{{.State.Status}}|{{.State.Error}}', name])).stdout.trim();
const ids = async () => (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean).sort();

/** Active snapshots named like containers (64 hex), from the snapshotter's own database. */
function containerSnapshots(): string[] {
  const db = new Database(join(p.dataRoot, 'snapshots', 'metadata.db'), { readonly: true });
  try {
    const keys = db.prepare("SELECT key FROM snapshots WHERE kind = 'active'").pluck().all() as string[];
    return keys.filter((k) => /^[0-9a-f]{64}$/.test(k)).sort();
  } finally {
    db.close();
  }
}

/** The numeric id (its dir's name) of the snapshot `key`, from the snapshotter's own database. */
function snapshotIdOf(key: string): number {
  const db = new Database(join(p.dataRoot, 'snapshots', 'metadata.db'), { readonly: true });
  try {
    return db.prepare('SELECT id FROM snapshots WHERE key = ?').pluck().get(key) as number;
  } finally {
    db.close();
  }
}

/** Nothing without a record: bundle dirs and container snapshots are exactly the containers. */
async function expectNoOrphans(): Promise<void> {
  const known = await ids();
  expect(readdirSync(join(p.dataRoot, 'containers')).sort()).toEqual(known);
  expect(containerSnapshots()).toEqual(known);
}

/** `run -d` with the agent set to die at `phase`; the CLI must fail; the agent then starts clean. */
async function runThroughCrash(phase: string, name: string): Promise<void> {
  await restartAgent(phase);
  const pid = agentPid();
  const run = await p.berth(['run', '-d', '--name', name, 'busybox', 'sleep', '300']);
  expect(run.code, `run -d with the agent dying at ${phase}: ${run.stdout}`).not.toBe(0);
  await untilDead(pid);
  await platformUp({ dataRoot: p.dataRoot });
}

describe('an agent killed during run -d', () => {
  it.each(['create-after-snapshot', 'create-before-record'])('at %s: leaves neither record, nor bundle dir, nor snapshot', async (phase) => {
    await runThroughCrash(phase, `crash-${phase}`);
    expect((await p.berth(['ps', '-a', '--filter', `name=crash-${phase}`, '--format', '{{.Names}}'])).stdout).toBe('');
    await expectNoOrphans();
    // The name is free again.
    expect((await p.berth(['create', '--name', `crash-${phase}`, 'busybox', 'true'])).code).toBe(0);
    expect((await p.berth(['rm', `crash-${phase}`])).code).toBe(0);
  }, 120_000);

  it.each(['start-before-runtime', 'start-after-runtime-create'])('at %s: the container is Dead with the reason, never Created', async (phase) => {
    const name = `crash-${phase}`;
    await runThroughCrash(phase, name);
    expect(await status(name)).toBe('dead|Cannot start container: the runtime agent stopped while starting it');
    expect((await p.berth(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout.trim()).toBe('Dead');
    const id = (await p.berth(['inspect', '--format', '{{.Id}}', name])).stdout.trim();
    // Nothing of the start is left: no runtime state, no rootfs mount.
    expect(existsSync(join(p.settings.runRoot, 'runc', id))).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(p.dataRoot, 'containers', id, 'rootfs'));
    await expectNoOrphans();
    expect((await p.berth(['rm', name])).code).toBe(0);
    await expectNoOrphans();
  }, 120_000);

  it('at start-after-runtime-start: the process runs, so the container is adopted as running', async () => {
    const name = 'crash-start-after-runtime-start';
    await runThroughCrash('start-after-runtime-start', name);
    expect(await status(name)).toBe('running|');
    expect((await p.berth(['exec', name, 'echo', 'alive'])).stdout).toBe('alive\n');
    expect((await p.berth(['rm', '-f', name])).code).toBe(0);
    await expectNoOrphans();
  }, 120_000);

  it('at remove-before-delete: the next start finishes the removal and deletes what waited in the trash', async () => {
    expect((await p.berth(['run', '-d', '--name', 'crash-rm', 'busybox', 'true'])).code).toBe(0);
    expect((await p.berth(['wait', 'crash-rm'])).stdout.trim()).toBe('0');
    const id = (await p.berth(['inspect', '--format', '{{.Id}}', 'crash-rm'])).stdout.trim();
    const snapshotDir = `removed-${snapshotIdOf(id)}`;
    const trash = join(p.dataRoot, 'trash');
    const waiting = () => [
      ...readdirSync(trash).filter((n) => n.startsWith(`${id}-`)),
      ...readdirSync(join(p.dataRoot, 'snapshots')).filter((n) => n === snapshotDir),
    ];
    await restartAgent('remove-before-delete');
    const pid = agentPid();
    expect((await p.berth(['rm', 'crash-rm'])).code).not.toBe(0);
    await untilDead(pid);
    try {
      // Killed between the renames and the deletion: the bundle dir and the snapshot's dir wait in their trash.
      expect(waiting()).toEqual([expect.stringMatching(new RegExp(`^${id}-\\d+$`)), snapshotDir]);
      expect(readFileSync(join(trash, waiting()[0]!, 'config.json'), 'utf8')).toContain('"ociVersion"');
    } finally {
      await platformUp({ dataRoot: p.dataRoot });
    }
    expect((await p.berth(['ps', '-a', '--filter', 'name=crash-rm', '--format', '{{.Names}}'])).stdout).toBe('');
    await expectNoOrphans();
    // Deleted in the background once the agent is up.
    expect(await until(async () => waiting(), (w) => w.length === 0)).toEqual([]);
  }, 120_000);

  it('handles records whose bundle dir or snapshot went away while the agent was down', async () => {
    expect((await p.berth(['create', '--name', 'lost-bundle', 'busybox', 'true'])).code).toBe(0);
    expect((await p.berth(['create', '--name', 'lost-snapshot', 'busybox', 'true'])).code).toBe(0);
    const bundleId = (await p.berth(['inspect', '--format', '{{.Id}}', 'lost-bundle'])).stdout.trim();
    const snapshotId = (await p.berth(['inspect', '--format', '{{.Id}}', 'lost-snapshot'])).stdout.trim();
    const pid = agentPid();
    signalProcess(pid, 'SIGKILL');
    await untilDead(pid);
    rmSync(join(p.dataRoot, 'containers', bundleId), { recursive: true, force: true });
    const snapshotter = new OverlaySnapshotter(join(p.dataRoot, 'snapshots'));
    await snapshotter.remove(snapshotId);
    snapshotter.close();
    await platformUp({ dataRoot: p.dataRoot });

    expect(await status('lost-bundle')).toBe(
      `dead|Cannot restore container: its bundle directory "${join(p.dataRoot, 'containers', bundleId)}" is missing`,
    );
    expect(await status('lost-snapshot')).toBe(`dead|Cannot restore container: its snapshot "${snapshotId}" is missing`);
    const start = await p.berth(['start', 'lost-snapshot']);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain(snapshotId);
    expect((await p.berth(['rm', 'lost-bundle', 'lost-snapshot'])).code).toBe(0);
    await expectNoOrphans();
  }, 120_000);
});
