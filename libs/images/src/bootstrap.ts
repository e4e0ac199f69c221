import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { FailedPreconditionError, InternalError, UnavailableError } from '@berth/errors';
import { packDirectory, type TarWriteEntry, writeTar } from '@berth/layers';
import { runCommand } from '@berth/subprocess';
import type { ImageRecord } from './types.js';

/**
 * Base images made on this host, for machines with no registry to pull from:
 *
 * - `busybox`: Debian's busybox-static (`/bin/busybox`) with a symlink per applet in /bin, a small
 *   /etc (root, nobody, and an `app` user 1000), and glibc's NSS libraries: Debian's static busybox
 *   still resolves users and hosts through glibc NSS, which dlopens libnss_*.so.2 and needs libc.so.6
 *   and the dynamic loader at their usual paths. Entries get the busybox binary's mtime and the
 *   image that creation time, so one host always makes the same image id.
 * - `debian`: `debootstrap --variant=minbase bookworm` from the mirror this host's apt uses.
 */
export interface BootstrapOptions {
  /** Name of the image; defaults to `busybox:latest` / `debian:bookworm`. */
  ref?: string;
  /** Progress lines (`Running debootstrap …`). */
  onProgress?: (message: string) => void;
  /** Debian: the mirror URL (default: from /etc/apt sources, then $BERTH_DEBIAN_MIRROR, then deb.debian.org). */
  mirror?: string;
  /** Debian: suite (default bookworm). */
  suite?: string;
}

/** The part of ImageStore bootstrapping needs. */
export interface ImageImporter {
  importTar(
    source: Readable,
    options: { ref?: string; changes?: string[]; message?: string; created?: Date },
  ): Promise<ImageRecord>;
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BUSYBOX = '/bin/busybox';

export async function bootstrapBusybox(store: ImageImporter, options: BootstrapOptions = {}): Promise<ImageRecord> {
  const st = await stat(BUSYBOX).catch(() => {
    throw new FailedPreconditionError(`Cannot make the busybox image: "${BUSYBOX}" is missing (install the busybox-static package)`);
  });
  options.onProgress?.(`Building a busybox root filesystem from ${BUSYBOX}`);
  const mtime = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
  const rootfs = await busyboxRootfs(mtime);
  return store.importTar(rootfs, {
    ref: options.ref ?? 'busybox:latest',
    changes: [`ENV ${DEFAULT_PATH}`, 'CMD ["sh"]'],
    message: 'Made by berth from Debian busybox-static',
    created: mtime,
  });
}

/** The applets the host's busybox provides (`busybox --list`). */
export async function busyboxApplets(): Promise<string[]> {
  const res = await runCommand(BUSYBOX, ['--list']);
  if (res.code !== 0) throw new InternalError(`Cannot list the applets of "${BUSYBOX}": ${res.stderr.toString().trim() || `exit ${res.code}`}`);
  return res.stdout
    .toString()
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'busybox' && !s.includes('/'));
}

/** The glibc files NSS needs, by host architecture: [path in the image, host path]. */
function nssLibraries(): string[] {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const loader = process.arch === 'arm64' ? '/lib/ld-linux-aarch64.so.1' : '/lib64/ld-linux-x86-64.so.2';
  const libs = ['libc.so.6', 'libnss_files.so.2', 'libnss_dns.so.2', 'libresolv.so.2'].map((l) => `/lib/${triplet}/${l}`);
  return [...libs, loader];
}

/**
 * A tar stream of the busybox root filesystem, built in memory (only /bin/busybox and the
 * libraries are streamed from disk).
 */
export async function busyboxRootfs(mtime: Date): Promise<Readable> {
  const applets = await busyboxApplets();
  type Item =
    | { kind: 'dir'; path: string; mode: number; uid?: number }
    | { kind: 'file'; path: string; mode: number; data: Buffer }
    | { kind: 'hostfile'; path: string; mode: number; source: string; size: number }
    | { kind: 'symlink'; path: string; target: string };
  const items: Item[] = [];
  const dirs: Array<[string, number, number?]> = [
    ['bin', 0o755], ['dev', 0o755], ['etc', 0o755], ['home', 0o755], ['home/app', 0o755, 1000], ['lib', 0o755],
    ['proc', 0o555], ['root', 0o700], ['sbin', 0o755], ['sys', 0o555], ['tmp', 0o1777], ['usr', 0o755],
    ['usr/bin', 0o755], ['usr/sbin', 0o755], ['var', 0o755], ['var/log', 0o755], ['var/tmp', 0o1777],
    ['var/run', 0o755],
  ];
  for (const [path, mode, uid] of dirs) items.push({ kind: 'dir', path, mode, uid });
  const busybox = await stat(BUSYBOX);
  items.push({ kind: 'hostfile', path: 'bin/busybox', mode: 0o755, source: BUSYBOX, size: busybox.size });
  for (const applet of applets) items.push({ kind: 'symlink', path: `bin/${applet}`, target: 'busybox' });
  items.push({ kind: 'symlink', path: 'usr/bin/env', target: '/bin/busybox' });
  const text = (path: string, content: string, mode = 0o644) => items.push({ kind: 'file', path, mode, data: Buffer.from(content) });
  text('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  text('etc/group', 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n');
  text('etc/shadow', 'root:*:19000:0:99999:7:::\napp:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o640);
  text('etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  text('etc/nsswitch.conf', 'passwd:    files\ngroup:     files\nshadow:    files\nhosts:     files dns\nnetworks:  files\nprotocols: files\nservices:  files\n');

  // glibc NSS: files at their host paths; a host symlink (the loader) stays a symlink.
  const seenDirs = new Set(dirs.map(([p]) => p));
  const queue = nssLibraries();
  const done = new Set<string>();
  while (queue.length > 0) {
    const hostPath = queue.shift()!;
    if (done.has(hostPath)) continue;
    done.add(hostPath);
    const st = await lstat(hostPath).catch(() => undefined); // missing: undefined
    if (!st) continue; // not on this host: the image still works for everything but name lookups
    const path = hostPath.slice(1);
    for (let d = dirname(path); d !== '.' && !seenDirs.has(d); d = dirname(d)) {
      seenDirs.add(d);
      items.push({ kind: 'dir', path: d, mode: 0o755 });
    }
    if (st.isSymbolicLink()) {
      const target = await readlink(hostPath);
      items.push({ kind: 'symlink', path, target });
      queue.push(posix.resolve(posix.dirname(hostPath), target));
    } else {
      items.push({ kind: 'hostfile', path, mode: st.mode & 0o7777, source: hostPath, size: st.size });
    }
  }
  // Parents must precede their children.
  const dirItems = items.filter((i) => i.kind === 'dir').sort((a, b) => a.path.localeCompare(b.path));
  const rest = items.filter((i) => i.kind !== 'dir');

  const seconds = mtime.getTime() / 1000;
  async function* entries(): AsyncGenerator<TarWriteEntry> {
    for (const item of [...dirItems, ...rest]) {
      const base = { name: item.path, mtime: seconds, uid: 0, gid: 0 };
      if (item.kind === 'dir') yield { header: { ...base, type: 'directory', mode: item.mode, uid: item.uid ?? 0, gid: item.uid ?? 0 } };
      else if (item.kind === 'symlink') yield { header: { ...base, type: 'symlink', linkname: item.target, mode: 0o777 } };
      else if (item.kind === 'file') yield { header: { ...base, mode: item.mode }, body: item.data };
      else yield { header: { ...base, mode: item.mode, size: item.size }, body: createReadStream(item.source) };
    }
  }
  return Readable.from(writeTar(entries()));
}

export async function bootstrapDebian(store: ImageImporter, options: BootstrapOptions = {}): Promise<ImageRecord> {
  const suite = options.suite ?? 'bookworm';
  const mirror = options.mirror ?? (await debianMirror(suite));
  const target = await mkdtemp(join(tmpdir(), 'berth-debootstrap-'));
  try {
    options.onProgress?.(`Running debootstrap --variant=minbase ${suite} from ${mirror}`);
    await run('debootstrap', ['--variant=minbase', suite, target, mirror], options.onProgress);
    // Leave no host-specific or cache state in the image.
    await rm(join(target, 'var/cache/apt/archives'), { recursive: true, force: true });
    await rm(join(target, 'var/lib/apt/lists'), { recursive: true, force: true });
    options.onProgress?.('Importing the root filesystem');
    return await store.importTar(packDirectory(target).stream, {
      ref: options.ref ?? `debian:${suite}`,
      changes: [`ENV ${DEFAULT_PATH}`, 'CMD ["bash"]'],
      message: `Made by berth with debootstrap --variant=minbase ${suite} ${mirror}`,
    });
  } finally {
    await unmountUnder(target);
    await rm(target, { recursive: true, force: true });
  }
}

/**
 * The Debian mirror this host's apt uses for `suite`: deb822 `.sources` files first, then
 * sources.list lines; $BERTH_DEBIAN_MIRROR overrides; deb.debian.org as the last resort.
 */
export async function debianMirror(suite = 'bookworm', aptDir = '/etc/apt'): Promise<string> {
  if (process.env.BERTH_DEBIAN_MIRROR) return process.env.BERTH_DEBIAN_MIRROR;
  const sourcesDir = join(aptDir, 'sources.list.d');
  const names = (await readdir(sourcesDir).catch(() => [] as string[])).filter((n) => n.endsWith('.sources')).sort();
  for (const name of names) {
    const text = await readFile(join(sourcesDir, name), 'utf8');
    for (const block of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
      }
      const types = (fields.get('types') ?? '').split(/\s+/);
      const suites = (fields.get('suites') ?? '').split(/\s+/);
      if (fields.get('enabled') === 'no' || !types.includes('deb') || !suites.includes(suite)) continue;
      const uri = (fields.get('uris') ?? '').split(/\s+/)[0];
      if (uri) return uri;
    }
  }
  const list = await readFile(join(aptDir, 'sources.list'), 'utf8').catch(() => '');
  for (const line of list.split('\n')) {
    const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m && m[2] === suite) return m[1]!;
  }
  return 'http://deb.debian.org/debian';
}

function run(command: string, args: string[], onProgress?: (message: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter((l) => l.trim() !== '')) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onProgress?.(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new FailedPreconditionError(`Cannot run "${command}": it is not installed`)
          : err,
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const Err = tail.some((l) => /Failed getting release file|Couldn't download|Could not resolve/i.test(l)) ? UnavailableError : InternalError;
        reject(new Err(`${command} failed with exit code ${code}: ${tail.slice(-5).join(' | ')}`));
      }
    });
  });
}

/** Lazily unmounts whatever debootstrap left mounted under `dir` (proc, sys, ...), deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  // Lazy: a point it cannot detach makes the caller's rm of the scratch root fail, loudly.
  for (const p of points) await runCommand('umount', ['-l', p]).catch(() => undefined);
}
