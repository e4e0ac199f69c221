/**
 * `berth cp` between real containers (running and stopped) and the local filesystem: docker's copy
 * rules, `-` for tar streams, `-a` and `-L`, volumes, and paths that try to leave the container
 * through symlinks. One platform for the file.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { platformForFile, removeAllContainers, tempDirForFile } from '@berth/testing';

const p = platformForFile();
const local = tempDirForFile('berth-cp-');

afterEach(() => removeAllContainers(p, { volumes: true })); // a failed test must not leave containers the next one counts

const at = (...parts: string[]) => join(local.path, ...parts);
const sh = async (container: string, script: string) => {
  const r = await p.berth(['exec', container, 'sh', '-c', script]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};
const cp = (...args: string[]) => p.berth(['cp', ...args]);
const running = async (name: string, extra: string[] = []) => {
  const r = await p.berth(['run', '-d', '--name', name, ...extra, 'busybox', 'sleep', '300']);
  expect(r.code, r.stderr).toBe(0);
};

describe('into a container', () => {
  it("copies a file into a directory, onto a new name, and a directory onto a new path, as cp -a does", async () => {
    await running('into');
    mkdirSync(at('in', 'tree', 'sub'), { recursive: true });
    writeFileSync(at('in', 'file.txt'), 'hello\n');
    writeFileSync(at('in', 'tree', 'sub', 'x'), 'inner\n');
    expect(await cp(at('in', 'file.txt'), 'into:/tmp')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await cp(at('in', 'file.txt'), 'into:/tmp/renamed.txt')).toMatchObject({ code: 0 });
    expect(await cp(at('in', 'tree'), 'into:/newdir')).toMatchObject({ code: 0 });
    expect(await cp(at('in', 'tree'), 'into:/tmp')).toMatchObject({ code: 0 });
    expect(await cp(`${at('in', 'tree')}/.`, 'into:/content')).toMatchObject({ code: 0 });
    expect(await sh('into', 'cat /tmp/file.txt /tmp/renamed.txt; find /newdir /tmp/tree /content | sort')).toBe(
      'hello\nhello\n/content\n/content/sub\n/content/sub/x\n/newdir\n/newdir/sub\n/newdir/sub/x\n/tmp/tree\n/tmp/tree/sub\n/tmp/tree/sub/x\n',
    );
    const dirOntoFile = await cp(at('in', 'tree'), 'into:/tmp/file.txt');
    expect(dirOntoFile).toEqual({ code: 1, stdout: '', stderr: 'cannot copy directory\n' });
    const missingParent = await cp(at('in', 'file.txt'), 'into:/nope/');
    expect(missingParent).toEqual({ code: 1, stdout: '', stderr: 'no such directory\n' });
  });

  it('owns the files by root, or keeps their owners with -a', async () => {
    await running('owners');
    writeFileSync(at('owned'), 'x');
    chownSync(at('owned'), 1234, 5678);
    expect((await cp(at('owned'), 'owners:/tmp/plain')).code).toBe(0);
    expect((await cp('-a', at('owned'), 'owners:/tmp/kept')).code).toBe(0);
    expect(await sh('owners', 'stat -c %u:%g /tmp/plain /tmp/kept')).toBe('0:0\n1234:5678\n');
  });

  it('extracts a tar from stdin with -, into a directory only', async () => {
    await running('stdin');
    mkdirSync(at('tarsrc', 'd'), { recursive: true });
    writeFileSync(at('tarsrc', 'd', 'a'), 'A');
    const tar = spawnSync('tar', ['c', '-C', at('tarsrc'), 'd']).stdout;
    expect(await p.berth(['cp', '-', 'stdin:/tmp'], { input: tar })).toMatchObject({ code: 0 });
    expect(await sh('stdin', 'cat /tmp/d/a')).toBe('A');
    const toFile = await p.berth(['cp', '-', 'stdin:/etc/hostname'], { input: tar });
    expect(toFile).toEqual({ code: 1, stdout: '', stderr: 'destination "stdin:/etc/hostname" must be a directory\n' });
  });

  it('writes into a stopped container, which then sees the file', async () => {
    expect((await p.berth(['create', '--name', 'stopped', 'busybox', 'cat', '/given.txt'])).code).toBe(0);
    writeFileSync(at('given.txt'), 'from the host\n');
    expect((await cp(at('given.txt'), 'stopped:/given.txt')).code).toBe(0);
    expect(await p.berth(['start', '-a', 'stopped'])).toMatchObject({ code: 0, stdout: 'from the host\n' });
  });

  it('lands in a volume mounted in the container', async () => {
    await running('vol', ['-v', 'cpdata:/data']);
    writeFileSync(at('v.txt'), 'in the volume');
    expect((await cp(at('v.txt'), 'vol:/data/')).code).toBe(0);
    const other = await p.berth(['run', '--rm', '-v', 'cpdata:/mnt', 'busybox', 'cat', '/mnt/v.txt']);
    expect(other.stdout).toBe('in the volume');
    await p.berth(['rm', '-f', 'vol']);
    await p.berth(['volume', 'rm', 'cpdata']);
  });
});

describe('out of a container', () => {
  it('copies a file and a directory out, and streams a tar to stdout with -', async () => {
    await running('out');
    await sh('out', 'mkdir -p /srv/site/css && echo body > /srv/site/index.html && echo c > /srv/site/css/a.css');
    expect((await cp('out:/srv/site/index.html', at('index.html'))).code).toBe(0);
    expect(readFileSync(at('index.html'), 'utf8')).toBe('body\n');
    expect((await cp('out:/srv/site', at('site'))).code).toBe(0);
    expect(readFileSync(at('site', 'css', 'a.css'), 'utf8')).toBe('c\n');
    const tar = await p.berth(['cp', 'out:/srv/site', '-']);
    expect(tar.code).toBe(0);
    writeFileSync(at('site.tar'), tar.stdout, 'latin1');
    expect(spawnSync('tar', ['tf', at('site.tar')]).stdout.toString().split('\n').filter(Boolean).sort()).toEqual([
      'site/',
      'site/css/',
      'site/css/a.css',
      'site/index.html',
    ]);
  });

  it('keeps a symlink as a link, or copies what it points to with -L', async () => {
    await running('links');
    await sh('links', 'echo target > /etc/real && ln -s /etc/real /link');
    expect((await cp('links:/link', at('l1'))).code).toBe(0);
    expect(lstatSync(at('l1')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(at('l1'))).toBe('/etc/real');
    expect((await cp('-L', 'links:/link', at('l2'))).code).toBe(0);
    expect(lstatSync(at('l2')).isFile()).toBe(true);
    expect(readFileSync(at('l2'), 'utf8')).toBe('target\n');
  });

  it('gives local owners, or the container\'s with -a', async () => {
    await running('outowners');
    await sh('outowners', 'echo x > /f && chown 1234:4321 /f');
    expect((await cp('outowners:/f', at('f-plain'))).code).toBe(0);
    expect((await cp('-a', 'outowners:/f', at('f-kept'))).code).toBe(0);
    expect([statSync(at('f-plain')).uid, statSync(at('f-kept')).uid, statSync(at('f-kept')).gid]).toEqual([process.getuid!(), 1234, 4321]);
  });

  it("reads a stopped container, and says docker's errors for a missing file or container", async () => {
    expect((await p.berth(['create', '--name', 'cold', 'busybox'])).code).toBe(0);
    expect((await cp('cold:/etc/passwd', at('passwd'))).code).toBe(0);
    expect(readFileSync(at('passwd'), 'utf8')).toContain('root:x:0:0');
    expect(await cp('cold:/nope', at('x'))).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: Could not find the file /nope in container cold\n' });
    expect(await cp('ghost:/etc/passwd', at('x'))).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: No such container: ghost\n' });
    expect(await cp(at('x'), at('y'))).toEqual({ code: 1, stdout: '', stderr: 'must specify at least one container source\n' });
    expect(await cp('cold:/a', 'cold:/b')).toEqual({ code: 1, stdout: '', stderr: 'copying between containers is not supported\n' });
    expect((await p.berth(['container', 'cp', 'cold:/etc/group', at('group')])).code).toBe(0);
  });
});

describe('symlinks never lead out of the container', () => {
  it('resolves links within the container root, reading and writing', async () => {
    await running('jail');
    // On the host: a file a link in the container would reach if it were followed on the host.
    const marker = `berth-cp-marker-${process.pid}`;
    writeFileSync(join('/tmp', marker), 'host secret');
    try {
      await sh('jail', 'ln -s ../../../../../../../../../tmp /evil && ln -s / /root-link && mkdir -p /tmp/inside');
      const read = await cp(`jail:/evil/${marker}`, at('stolen'));
      expect(read).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: Could not find the file /evil/${marker} in container jail\n` });
      expect(existsSync(at('stolen'))).toBe(false);
      writeFileSync(at('planted'), 'planted');
      expect((await cp(at('planted'), 'jail:/evil/')).code).toBe(0);
      expect(existsSync('/tmp/planted')).toBe(false);
      expect(await sh('jail', 'cat /tmp/planted')).toBe('planted');
      expect((await cp(at('planted'), 'jail:/root-link/../../../../etc/planted')).code).toBe(0);
      expect(await sh('jail', 'cat /etc/planted')).toBe('planted');
    } finally {
      spawnSync('rm', ['-f', join('/tmp', marker), '/tmp/planted']);
    }
  });
});
