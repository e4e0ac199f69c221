import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { UnavailableError } from '@berth/errors';

/**
 * Running a host's services in a named network namespace (`/run/netns/<name>`; libs/testing's test
 * hosts), through `nsenter --net` rather than `ip netns exec`, deliberately:
 *
 * `ip netns exec` also gives the process a mount namespace of its own, a slave of the root one, to
 * remount /sys there. The agent's mounts (containers' overlay root filesystems, its tmpfs run
 * directories) would then live only in that namespace: invisible to `platform down`'s and the
 * tests' sweeps, and gone for the agent itself once restarted (a new `ip netns exec`, a new mount
 * namespace), which re-adopts running containers whose mounts it can no longer see.
 *
 * So the service enters only the network namespace, then a mount namespace of its own that keeps
 * the root's propagation (`unshare --mount --propagation unchanged`) in which only the network
 * parts of /sys are replaced: a sysfs mounted in the netns shows that netns's links, and is bound
 * over /sys/class/net and /sys/devices/virtual/net (the agent reads a bridge's MAC there; the
 * cgroup hierarchies under /sys/fs/cgroup stay as they are). /sys is a private mount, so none of
 * this reaches the root namespace. The data root is made a shared mount (`ensureSharedMount`) so
 * that whatever the agent mounts below it appears in the root namespace too, and /run/netns is
 * shared by iproute2 itself: the agent's container netns are visible everywhere.
 *
 * The command ends as an `exec` of the service: the pid spawned is the service's.
 */
export function netnsCommand(netns: string, command: string[]): string[] {
  const script = [
    'mkdir -p /run/berth-netns-sysfs',
    'mount -t sysfs sysfs /run/berth-netns-sysfs',
    'mount --bind /run/berth-netns-sysfs/class/net /sys/class/net',
    'mount --bind /run/berth-netns-sysfs/devices/virtual/net /sys/devices/virtual/net',
    'exec "$@"',
  ].join(' && ');
  return ['nsenter', `--net=/run/netns/${netns}`, '--', 'unshare', '--mount', '--propagation', 'unchanged', '--', 'sh', '-c', script, 'sh', ...command];
}

/**
 * Makes `dir` a shared mount point (a bind mount onto itself, unless it is a mount point already),
 * so that mounts made below it in a service's mount namespace (netnsCommand) show in this one.
 */
export function ensureSharedMount(dir: string): void {
  const entry = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[4] === dir)
    .at(-1);
  // Optional fields (`shared:N`, `master:N`) follow the mount options, up to a lone "-".
  if (entry?.slice(6, entry.indexOf('-')).some((f) => f.startsWith('shared:'))) return;
  const run = (args: string[]) => {
    const r = spawnSync('mount', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new UnavailableError(`Cannot make "${dir}" a shared mount (mount ${args.join(' ')}): ${r.stderr.trim()}`);
  };
  if (entry === undefined) run(['--bind', dir, dir]);
  run(['--make-shared', dir]);
}
