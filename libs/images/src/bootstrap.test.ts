import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentStore } from '@berth/content';
import { openMetadataDb } from '@berth/metadata';
import { OverlaySnapshotter } from '@berth/snapshots';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianMirror, ImageStore } from './index.js';

/**
 * The busybox base image is made from the host's busybox-static and glibc. Its real test is that
 * the unpacked root filesystem works: a chroot runs busybox, and user lookups go through NSS.
 */
describe('bootstrap', () => {
  let root: string;
  let store: ImageStore;
  let snapshotter: OverlaySnapshotter;
  let close: () => void;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-bootstrap-'));
    const db = openMetadataDb(join(root, 'metadata.db'));
    snapshotter = new OverlaySnapshotter(join(root, 'snapshots'));
    store = new ImageStore({ db, content: new ContentStore(join(root, 'content')), snapshotter });
    close = () => {
      snapshotter.close();
      db.close();
    };
  });
  afterAll(() => {
    close?.();
    rmSync(root, { recursive: true, force: true });
  });

  it('makes busybox:latest from busybox-static, reproducibly', async () => {
    const progress: string[] = [];
    const image = await store.bootstrap('busybox', { onProgress: (m) => progress.push(m) });
    expect(image.names).toEqual(['docker.io/library/busybox:latest']);
    expect(image.config.config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
    });
    expect(progress).toEqual(['Building a busybox root filesystem from /bin/busybox']);
    const again = await store.bootstrap('busybox');
    expect(again.id).toBe(image.id);
  });

  it('has applets, /etc, special dirs and the glibc NSS libraries, and runs in a chroot', async () => {
    const chain = await store.unpack('busybox');
    const rootfs = snapshotter.upperDir(chain!);
    expect(readlinkSync(join(rootfs, 'bin/sh'))).toBe('busybox');
    expect(readlinkSync(join(rootfs, 'bin/wget'))).toBe('busybox');
    expect(lstatSync(join(rootfs, 'bin/busybox')).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    for (const dir of ['proc', 'sys', 'dev', 'root', 'var']) expect(lstatSync(join(rootfs, dir)).isDirectory()).toBe(true);
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain('app:x:1000:1000:');
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain('nobody:x:65534:65534:');
    expect(readFileSync(join(rootfs, 'etc/nsswitch.conf'), 'utf8')).toContain('hosts:     files dns');
    expect(readFileSync(join(rootfs, 'etc/hosts'), 'utf8')).toContain('localhost');
    if (process.arch === 'x64') {
      for (const lib of ['libc.so.6', 'libnss_files.so.2', 'libnss_dns.so.2', 'libresolv.so.2', 'ld-linux-x86-64.so.2']) {
        expect(existsSync(join(rootfs, 'lib/x86_64-linux-gnu', lib))).toBe(true);
      }
      expect(existsSync(join(rootfs, 'lib64/ld-linux-x86-64.so.2'))).toBe(true);
    }
    // Run it: a view of the committed snapshot is a plain directory with one layer.
    expect(execFileSync('chroot', [rootfs, '/bin/sh', '-c', 'echo ok; id app; id nobody'], { encoding: 'utf8' })).toBe(
      'ok\nuid=1000(app) gid=1000(app) groups=1000(app)\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n',
    );
  });

  it.runIf(process.env.BERTH_TEST_DEBOOTSTRAP === '1')(
    'makes debian:bookworm with debootstrap (BERTH_TEST_DEBOOTSTRAP=1)',
    async () => {
      const image = await store.bootstrap('debian');
      expect(image.names).toEqual(['docker.io/library/debian:bookworm']);
      expect(image.config.config?.Cmd).toEqual(['bash']);
      const chain = await store.unpack('debian:bookworm');
      const rootfs = snapshotter.upperDir(chain!);
      expect(readFileSync(join(rootfs, 'etc/os-release'), 'utf8')).toContain('bookworm');
      expect(execFileSync('chroot', [rootfs, '/bin/bash', '-c', 'dpkg -s coreutils | head -2'], { encoding: 'utf8' })).toContain(
        'Package: coreutils',
      );
    },
    15 * 60_000,
  );

  it('finds the Debian mirror in deb822 sources, then sources.list', async () => {
    const apt = mkdtempSync(join(tmpdir(), 'berth-apt-'));
    try {
      mkdirSync(join(apt, 'sources.list.d'));
      writeFileSync(
        join(apt, 'sources.list.d/debian.sources'),
        'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
          'Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n',
      );
      const saved = process.env.BERTH_DEBIAN_MIRROR;
      delete process.env.BERTH_DEBIAN_MIRROR;
      try {
        expect(await debianMirror('bookworm', apt)).toBe('http://mirror.example/debian');
        rmSync(join(apt, 'sources.list.d/debian.sources'));
        writeFileSync(join(apt, 'sources.list'), '# x\ndeb [arch=amd64] http://old.example/debian bookworm main\n');
        expect(await debianMirror('bookworm', apt)).toBe('http://old.example/debian');
        rmSync(join(apt, 'sources.list'));
        expect(await debianMirror('bookworm', apt)).toBe('http://deb.debian.org/debian');
      } finally {
        if (saved !== undefined) process.env.BERTH_DEBIAN_MIRROR = saved;
      }
    } finally {
      rmSync(apt, { recursive: true, force: true });
    }
  });
});
