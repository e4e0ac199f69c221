/**
 * The data root is closed to other users of the host (issue 8 §3, the class of CVE-2021-41091):
 * a local user must not run a setuid binary from an unpacked layer, nor read a container's
 * config.json (its `-e` values), its log, or the metadata database. A throwaway user (useradd,
 * removed after) tries, through `setpriv`. Containers keep working for non-root container users.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformUp } from '@berth/platform';
import { startTestPlatform, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;
let scratch: string;
const user = { name: `berthdr${randomBytes(3).toString('hex')}`, uid: 0, gid: 0 };
let secretId = '';

/**
 * Runs a command as the throwaway user (no capabilities, no supplementary groups). A shell run as
 * the user execs it (setpriv 2.38, given the path itself, still ran a program behind a 0700 dir).
 */
function asUser(cmd: string[]): { code: number; stdout: string; stderr: string } {
  const args = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', '/bin/sh', '-c', 'exec "$@"', 'sh', ...cmd];
  const r = spawnSync('setpriv', args, { encoding: 'utf8', cwd: '/' });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

const mode = (path: string) => statSync(path).mode & 0o7777;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The snapshot dir holding `file` in its fs/ (an unpacked layer). */
function snapshotWith(file: string): string {
  const root = join(p.dataRoot, 'snapshots');
  const dir = readdirSync(root).find((d) => existsSync(join(root, d, 'fs', file)));
  if (dir === undefined) throw new Error(`no snapshot holds ${file}`);
  return join(root, dir);
}

async function restartAgent(): Promise<void> {
  const pid = Number(readFileSync(join(p.settings.runRoot, 'platform', 'runtime-agent.pid'), 'utf8'));
  signalProcess(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  // Gone, not merely a zombie: platformUp would take a zombie for a running agent.
  while (existsSync(`/proc/${pid}`)) {
    if (Date.now() > deadline) throw new Error('the agent did not stop');
    await new Promise((r) => setTimeout(r, 50));
  }
  await platformUp({ dataRoot: p.dataRoot });
}

beforeAll(async () => {
  run('useradd', ['-M', '-s', '/usr/sbin/nologin', user.name]);
  user.uid = Number(run('id', ['-u', user.name]).trim());
  user.gid = Number(run('id', ['-g', user.name]).trim());
  p = await startTestPlatform();
  scratch = mkdtempSync(join(tmpdir(), 'berth-dr-'));
  expect((await p.berth(['image', 'bootstrap', 'busybox'])).code).toBe(0);
  // An image whose layer holds a setuid-root copy of id(1).
  const layer = join(scratch, 'layer');
  run('mkdir', ['-p', layer]);
  copyFileSync('/usr/bin/id', join(layer, 'suid-id'));
  chownSync(join(layer, 'suid-id'), 0, 0);
  chmodSync(join(layer, 'suid-id'), 0o4755);
  run('tar', ['-C', layer, '-cf', join(scratch, 'layer.tar'), '.']);
  const imported = await p.berth(['import', join(scratch, 'layer.tar'), 'suid:latest']);
  expect(imported.code, imported.stderr).toBe(0);
  expect((await p.berth(['create', '--name', 'holder', 'suid:latest', '/suid-id'])).code).toBe(0); // unpacks it
  const r = await p.berth(['run', '-d', '--name', 'secret', '-e', 'SECRET_TOKEN=hunter2', 'busybox', 'sh', '-c', 'echo the-log-line; sleep 300']);
  expect(r.code, r.stderr).toBe(0);
  secretId = r.stdout.trim();
}, 180_000);

afterAll(async () => {
  await p?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  spawnSync('userdel', [user.name]);
});

describe('the data root', () => {
  it('an installation left open (0755) is closed at the next agent start: no setuid layer binary, no secrets', async () => {
    const suid = join(snapshotWith('suid-id'), 'fs', 'suid-id');
    const bundle = join(p.dataRoot, 'containers', secretId);
    const db = join(p.dataRoot, 'metadata.db');
    // What an older Berth left: everything world-readable and traversable.
    for (const path of [p.dataRoot, ...readdirSync(p.dataRoot).map((n) => join(p.dataRoot, n)), bundle, join(suid, '../..')]) {
      chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    }
    chmodSync(join(bundle, 'config.json'), 0o644);
    // The hole is real while it is open: the user becomes root and reads the secret.
    expect(asUser([suid, '-u']).stdout.trim()).toBe('0');
    expect(asUser(['cat', join(bundle, 'config.json')]).stdout).toContain('SECRET_TOKEN=hunter2');

    await restartAgent();

    expect(mode(p.dataRoot)).toBe(0o711);
    for (const name of readdirSync(p.dataRoot)) {
      const path = join(p.dataRoot, name);
      if (name === 'run') expect(mode(path)).toBe(0o711); // the run root (sockets) lives here in tests
      else expect([name, mode(path)]).toEqual([name, statSync(path).isDirectory() ? 0o700 : 0o600]);
    }
    const denied = (cmd: string[]) => {
      const r = asUser(cmd);
      expect({ cmd: cmd.join(' '), failed: r.code !== 0, stderr: r.stderr }).toEqual({
        cmd: cmd.join(' '),
        failed: true,
        stderr: expect.stringMatching(/Permission denied/),
      });
    };
    denied(['ls', p.dataRoot]);
    denied(['ls', join(p.dataRoot, 'snapshots')]);
    denied(['ls', join(suid, '..')]);
    denied([suid, '-u']);
    denied(['cat', join(bundle, 'config.json')]);
    denied(['cat', join(bundle, 'ctr.log')]);
    denied(['cat', db]);
    denied(['cat', join(p.dataRoot, 'host-id')]);
    denied(['ls', join(p.dataRoot, 'content', 'blobs', 'sha256')]);
    denied(['ls', join(p.dataRoot, 'containers', secretId, 'rootfs', 'bin')]);
    // The agent adopted the running container and still serves it.
    expect((await p.berth(['logs', 'secret'])).stdout).toBe('the-log-line\n');
    expect((await p.berth(['exec', 'secret', 'sh', '-c', 'echo $SECRET_TOKEN'])).stdout).toBe('hunter2\n');
  });

  it('new containers and volumes are created closed, and non-root container users still reach their files', async () => {
    expect((await p.berth(['volume', 'create', 'v1'])).code).toBe(0);
    expect((await p.berth(['run', '--rm', '-v', 'v1:/data', 'busybox', 'sh', '-c', 'echo vol-data > /data/f'])).code).toBe(0);
    const bind = join(scratch, 'bind');
    run('mkdir', ['-p', bind]);
    chmodSync(scratch, 0o755);
    writeFileSync(join(bind, 'f'), 'bind-data\n', { mode: 0o644 });
    const r = await p.berth([
      'run', '-d', '--name', 'fresh', '--user', '1000', '-e', 'OTHER_SECRET=s3', '-v', 'v1:/data', '-v', `${bind}:/bind:ro`,
      'busybox', 'sh', '-c', 'id -u; cat /data/f /bind/f; ls /bin/sh; sleep 300',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const deadline = Date.now() + 20_000;
    let logs = '';
    while (!logs.includes('/bin/sh') && Date.now() < deadline) {
      logs = (await p.berth(['logs', 'fresh'])).stdout;
      if (!logs.includes('/bin/sh')) await new Promise((res) => setTimeout(res, 100));
    }
    expect(logs).toBe('1000\nvol-data\nbind-data\n/bin/sh\n');
    const exec = await p.berth(['exec', '-u', '1000', 'fresh', 'cat', '/etc/hostname', '/data/f']);
    expect(exec.stdout).toBe(`${id.slice(0, 12)}\nvol-data\n`);

    expect(mode(join(p.dataRoot, 'containers', id))).toBe(0o700);
    expect(mode(join(p.dataRoot, 'containers', id, 'config.json'))).toBe(0o600);
    expect(mode(join(p.dataRoot, 'volumes'))).toBe(0o700);
    expect(mode(join(p.dataRoot, 'metadata.db'))).toBe(0o600);
    expect(asUser(['ls', join(p.dataRoot, 'volumes', 'v1', '_data')]).stderr).toMatch(/Permission denied/);
    expect(asUser(['cat', join(p.dataRoot, 'containers', id, 'config.json')]).stderr).toMatch(/Permission denied/);
  });
});
