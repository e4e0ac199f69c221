/**
 * Output that used to be false, through the CLI against a real platform, checked against docker's:
 * `diff` and `commit` without the runtime's /etc mountpoint stubs, `exec` of a command that cannot
 * run (126/127 and the runtime's message), `ps` after `rmi -f` of the container's tag, and the
 * supplementary groups of a container's process (run, exec and the builder's RUN).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarEntries } from '@berth/layers';
import { startTestPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
let scratch: string;

async function ok(args: string[], options?: { input?: string }): Promise<string> {
  const r = await p.berth(args, options);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  p = await startTestPlatform();
  await ok(['image', 'bootstrap', 'busybox']);
  scratch = mkdtempSync(join(tmpdir(), 'container-truth-'));
}, 180_000);

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await p?.stop();
});

/** Names in a tar (buffer), as an independent reader (GNU tar) sees them. */
async function tarNames(tar: Buffer): Promise<string[]> {
  return execFileSync('tar', ['--quoting-style=literal', '-tf', '-'], { input: tar }).toString().split('\n').filter(Boolean);
}

/** The files of a tar as a map name → content. */
async function tarFiles(tar: Buffer): Promise<Map<string, Buffer>> {
  return new Map((await readTarEntries(tar)).map((e) => [e.header.name, e.body]));
}

describe('diff and commit', () => {
  it('show only what the container changed, never /etc/hostname, /etc/hosts or /etc/resolv.conf', async () => {
    await ok(['run', '--name', 'untouched', 'busybox', 'true']);
    expect(await p.berth(['diff', 'untouched'])).toMatchObject({ code: 0, stdout: '' });
    await ok(['run', '--name', 'changed', 'busybox', 'sh', '-c', 'echo x > /tmp/f; echo motd > /etc/motd']);
    expect(await ok(['diff', 'changed'])).toBe('C /etc\nA /etc/motd\nC /tmp\nA /tmp/f\n');
  });

  it('commit makes a layer without the mountpoint stubs', async () => {
    await ok(['commit', 'untouched', 'nothing-changed:1']);
    await ok(['commit', 'changed', 'something-changed:1']);
    const topLayer = async (ref: string) => {
      const archive = join(scratch, `${ref.replace(/[:/]/g, '_')}.tar`);
      await ok(['save', '-o', archive, ref]);
      const files = await tarFiles(readFileSync(archive));
      const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Layers: string[] }>;
      const layer = files.get(manifest[0]!.Layers.at(-1)!)!;
      return tarNames(layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer);
    };
    expect(await topLayer('nothing-changed:1')).toEqual([]);
    expect((await topLayer('something-changed:1')).sort()).toEqual(['etc/', 'etc/motd', 'tmp/', 'tmp/f']);
  });
});

describe('exec of a command that cannot run', () => {
  it("exits 127 or 126 with the runtime's message on stdout, as docker", async () => {
    await ok(['run', '-d', '--name', 'target', 'busybox', 'sleep', '600']);
    expect(await p.berth(['exec', 'target', 'nope'])).toEqual({
      code: 127,
      stdout: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\r\n',
      stderr: '',
    });
    const notExecutable = await p.berth(['exec', 'target', '/etc/passwd']);
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stdout).toBe('OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc/passwd": permission denied: unknown\r\n');
  });
});

describe('ps after rmi -f of the tag a container was made from', () => {
  it('shows the image id instead of the removed tag', async () => {
    await ok(['tag', 'busybox', 'shortlived:1']);
    await ok(['run', '-d', '--name', 'orphaned', 'shortlived:1', 'sleep', '600']);
    expect(await ok(['ps', '--format', '{{.Image}}', '--filter', 'name=orphaned'])).toBe('shortlived:1\n');
    expect(await ok(['rmi', '-f', 'shortlived:1'])).toBe('Untagged: shortlived:1\n');
    const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
    expect(await ok(['ps', '--format', '{{.Image}}', '--filter', 'name=orphaned'])).toBe(`${id.slice(7, 19)}\n`);
    expect(await ok(['ps', '--no-trunc', '--format', '{{.Image}}', '--filter', 'name=orphaned'])).toBe(`${id}\n`);
    // A tag that moved to another image no longer names the container's either.
    await ok(['commit', 'orphaned', 'moved:1']);
    await ok(['run', '-d', '--name', 'moving', 'moved:1', 'sleep', '600']);
    await ok(['commit', 'orphaned', 'moved:1']);
    expect(await ok(['ps', '--format', '{{.Image}}', '--filter', 'name=moving'])).toMatch(/^[0-9a-f]{12}\n$/);
  });
});

describe('supplementary groups', () => {
  it('include the primary gid, and the image groups listing the user (run, exec, RUN)', async () => {
    expect(await ok(['run', '--rm', 'busybox', 'id'])).toBe('uid=0(root) gid=0(root) groups=0(root)\n');
    expect(await ok(['run', '--rm', '--user', '1234:4321', 'busybox', 'id'])).toBe('uid=1234 gid=4321 groups=4321\n');
    expect(await ok(['run', '--rm', '--user', 'app', 'busybox', 'id'])).toBe('uid=1000(app) gid=1000(app) groups=1000(app)\n');

    // An image where root is in wheel, as in docker's busybox; its RUN steps see the same groups.
    const context = join(scratch, 'wheel');
    rmSync(context, { recursive: true, force: true });
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo wheel:x:10:root >> /etc/group\nRUN id > /id-at-build\n');
    await ok(['build', '-q', '-t', 'wheelbox', context]);
    expect(await ok(['run', '--rm', 'wheelbox', 'cat', '/id-at-build'])).toBe('uid=0(root) gid=0(root) groups=0(root),10(wheel)\n');
    expect(await ok(['run', '--rm', 'wheelbox', 'id'])).toBe('uid=0(root) gid=0(root) groups=0(root),10(wheel)\n');
    await ok(['run', '-d', '--name', 'wheeled', 'wheelbox', 'sleep', '600']);
    expect(await ok(['exec', 'wheeled', 'id'])).toBe('uid=0(root) gid=0(root) groups=0(root),10(wheel)\n');
    expect(await ok(['exec', '-u', '1234:4321', 'wheeled', 'id'])).toBe('uid=1234 gid=4321 groups=4321\n');
  });
});
