import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { InternalError } from '@berth/errors';

/** conmon's first message on its sync pipe: the container pid, or -1 and the runtime's error. */
export interface ConmonReply {
  data: number;
  message?: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * conmon's environment: PATH, a UTF-8 locale and the caller's pipe numbers, close to what Podman
 * gives it (containers.conf's `conmon_env_vars`: PATH), not the agent's whole environment, which
 * reached conmon and the runtime it runs (whatever the platform was started with, in their
 * /proc/<pid>/environ for as long as the container lives). LANG=C.UTF-8: without it (the C locale)
 * each conmon took ~430 KB more RSS, 2.48 against 2.05 MB (bench/README.md, "conmon's environment").
 */
export function conmonEnv(pipes: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH || DEFAULT_PATH, LANG: 'C.UTF-8', ...pipes };
}

/** How long the reply waits for conmon's first process to exit (it does at once, having written the pidfile). */
const PARENT_EXIT_WAIT_MS = 2_000;

/**
 * Spawns conmon with a sync pipe as fd 3 (`_OCI_SYNCPIPE=3`) and resolves with its first message:
 * `{"data": <container pid>}` or `{"data": -1, "message": "<runtime stderr>"}`. Undefined when conmon
 * closed the pipe without a word (its own error then is in its stderr file). `started` is called
 * once conmon's process is spawned.
 *
 * conmon forks at once: the daemon runs the runtime and sends the reply, while the first process
 * writes the daemon's pid to `--conmon-pidfile` and exits. The reply can come first (a loaded host,
 * a fast start), so it is resolved only once that process has exited too (at most
 * PARENT_EXIT_WAIT_MS): the pidfile is then there for whoever reads it next (create, waitExit).
 */
export function runConmon(conmonPath: string, args: string[], options: { errFd: number; cwd: string; started?: () => void }): Promise<ConmonReply | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(conmonPath, args, {
      // conmon writes files such as `oom` into its working directory: keep it in the bundle.
      cwd: options.cwd,
      stdio: ['ignore', 'ignore', options.errFd, 'pipe'],
      env: conmonEnv({ _OCI_SYNCPIPE: '3' }),
      detached: true,
    });
    const sync = child.stdio[3] as Readable;
    if (child.pid !== undefined) options.started?.();
    const parentExited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    let buf = '';
    let done = false;
    const finish = (value: ConmonReply | undefined, error?: Error) => {
      if (done) return;
      done = true;
      sync.destroy();
      if (error) {
        child.unref();
        reject(error);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      void Promise.race([parentExited, new Promise<void>((r) => (timer = setTimeout(r, PARENT_EXIT_WAIT_MS)))]).then(() => {
        clearTimeout(timer);
        child.unref();
        resolve(value);
      });
    };
    child.on('error', (e) => finish(undefined, new InternalError(`Cannot run conmon "${conmonPath}": ${e.message}`, { cause: e })));
    sync.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        finish(JSON.parse(buf.slice(0, nl)) as ConmonReply);
      } catch (e) {
        finish(undefined, new InternalError(`Cannot parse conmon's reply ${JSON.stringify(buf.slice(0, nl))}`, { cause: e }));
      }
    });
    // A broken sync pipe shows up as 'close' without a reply, handled there.
    sync.on('error', () => {});
    sync.on('close', () => finish(undefined));
  });
}

/** True when `pid` is a live (non-zombie) process named conmon. */
export function isConmon(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterComm = stat.slice(stat.lastIndexOf(')') + 2);
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    return comm === 'conmon' && !afterComm.startsWith('Z') && !afterComm.startsWith('X');
  } catch {
    return false;
  }
}
