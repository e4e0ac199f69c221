import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const applets = [
  'sh', 'echo', 'sleep', 'cat', 'ps', 'hostname', 'id', 'ls', 'true', 'false', 'kill', 'top', 'mkdir',
  'dd', 'head', 'tail', 'env', 'pwd', 'grep', 'wc', 'printf', 'test', 'stty',
];

/**
 * Fills `dir` with a minimal root filesystem for tests: the host's static /bin/busybox (Debian's
 * busybox-static) with applet symlinks, the usual empty mount points, and /etc/passwd + /etc/group with
 * `root` and `app` (1000:1000, also member of group `extra` 1001).
 */
export async function makeBusyboxRootfs(dir: string, busybox = '/bin/busybox'): Promise<void> {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'home/app']) await mkdir(join(dir, d), { recursive: true });
  await copyFile(busybox, join(dir, 'bin/busybox'));
  for (const a of applets) await symlink('busybox', join(dir, 'bin', a));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:1001:app\n');
}
