import { spawn, type ChildProcess } from 'node:child_process';

/**
 * mount(2) and umount2(2) without a process per call. Node cannot make these system calls, and a
 * `mount` or `umount` process per container start and exit cost 40–60 ms of a loaded 2-core host,
 * most of it the fork of the agent's large process, which blocks its event loop meanwhile
 * (bench/README.md, "The run path"; libs/snapshots mount.ts, libs/network host-links.ts use it); a resident helper answers in under a millisecond. The helper
 * is Perl (perl-base is Essential in Debian, so always installed), whose `syscall` makes the call:
 * one request a line on its stdin, one answer a line on its stdout, in order. It is started at the
 * first call and ends with its stdin, so with this process, however that ends.
 *
 * Only what maps to one call is asked of it (mountCall); anything else, an architecture whose
 * call numbers are not listed, or a helper that cannot start or died, is the caller's to do with
 * the `mount` and `umount` programs, as before.
 */

/** mount(2) flags for the options mount(8) turns into flags; other `key=value` options are the filesystem's data. */
const FLAGS: Record<string, number> = {
  rw: 0,
  ro: 0x1, // MS_RDONLY
  nosuid: 0x2, // MS_NOSUID
  nodev: 0x4, // MS_NODEV
  noexec: 0x8, // MS_NOEXEC
  bind: 0x1000, // MS_BIND
  rbind: 0x1000 | 0x4000, // MS_BIND | MS_REC
};

/** Call numbers of mount and umount2 per architecture (Linux's unistd tables). */
const CALLS: Partial<Record<NodeJS.Architecture, { mount: number; umount2: number }>> = {
  x64: { mount: 165, umount2: 166 },
  arm64: { mount: 40, umount2: 39 },
};

/**
 * Reads request lines `op TAB cwd TAB source TAB target TAB type TAB flags TAB data` (op `m`:
 * mount, `u`: umount2 of target with flags) and answers `0`, or errno TAB its message. Strings are
 * passed to the call as pointers to NUL-terminated copies, numbers (`+0`) as integers.
 */
const SCRIPT = `
$| = 1;
my ($mount, $umount2) = @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($op, $cwd, $source, $target, $type, $flags, $data) = split /\\t/, $line, -1;
  my $r = -1;
  if ($cwd eq '' || chdir($cwd)) {
    $r = $op eq 'm' ? syscall($mount + 0, $source, $target, $type, $flags + 0, $data) : syscall($umount2 + 0, $target, $flags + 0);
  }
  print $r == 0 ? "0\\n" : (0 + $!) . "\\t$!\\n";
  chdir('/');
}
`;

export interface MountCall {
  source: string;
  target: string;
  type: string;
  flags: number;
  data: string;
  cwd?: string;
}

/**
 * The single mount(2) call that `mount -t type -o options source target` makes, or undefined when
 * mount(8) would do more (a read-only bind is a bind then a remount) or an option is not known.
 */
export function mountCall(m: { type: string; source: string; options: string[]; cwd?: string }, target: string): MountCall | undefined {
  let flags = 0;
  const data: string[] = [];
  for (const option of m.options) {
    if (option.includes('=')) data.push(option);
    else if (option in FLAGS) flags |= FLAGS[option]!;
    else return undefined;
  }
  const isBind = (flags & FLAGS.bind!) !== 0 || m.type === 'bind';
  if (isBind && (flags & FLAGS.ro!) !== 0) return undefined;
  const call = { source: m.source, target, type: isBind ? '' : m.type, flags: isBind ? flags | FLAGS.bind! : flags, data: isBind ? '' : data.join(','), cwd: m.cwd };
  return [call.source, call.target, call.type, call.data, call.cwd ?? ''].some((s) => /[\t\n\0]/.test(s)) ? undefined : call;
}

/** What the helper answered: undefined when it did the call, else the call's error. */
export type HelperAnswer = { errno: number; message: string } | undefined;

interface Pending {
  resolve: (answer: HelperAnswer) => void;
  reject: (err: Error) => void;
}

/** Thrown when there is no helper to ask: the caller runs the program instead. */
export class NoMountHelper extends Error {}

class MountHelper {
  private child: ChildProcess | undefined;
  private readonly pending: Pending[] = [];
  private buffered = '';
  /** perl could not be started at all (missing): never tried again. */
  private unavailable = CALLS[process.arch] === undefined || process.env.BERTH_MOUNT_HELPER === 'off';

  /** Whether calls go to a helper (false: on this architecture, or perl is missing, callers run the programs). */
  get available(): boolean {
    return !this.unavailable;
  }

  mount(call: MountCall): Promise<HelperAnswer> {
    return this.ask(['m', call.cwd ?? '', call.source, call.target, call.type, String(call.flags), call.data]);
  }

  umount(target: string, flags = 0): Promise<HelperAnswer> {
    if (/[\t\n\0]/.test(target)) return Promise.reject(new NoMountHelper('a target the helper cannot be given'));
    return this.ask(['u', '', '', target, '', String(flags), '']);
  }

  private ask(fields: string[]): Promise<HelperAnswer> {
    const child = this.start();
    if (child === undefined) return Promise.reject(new NoMountHelper('no mount helper'));
    return new Promise<HelperAnswer>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.hold(true);
      child.stdin!.write(`${fields.join('\t')}\n`);
    });
  }

  private start(): ChildProcess | undefined {
    if (this.child !== undefined || this.unavailable) return this.child;
    const calls = CALLS[process.arch]!;
    const child = spawn('perl', ['-e', SCRIPT, String(calls.mount), String(calls.umount2)], { stdio: ['pipe', 'pipe', 'ignore'], cwd: '/' });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') this.unavailable = true;
      this.gone(child, err);
    });
    child.on('exit', () => this.gone(child, new NoMountHelper('the mount helper exited')));
    // A write after it died is answered by 'exit' (the request fails over to the program).
    child.stdin!.on('error', () => undefined);
    this.hold(false);
    return child;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let i = this.buffered.indexOf('\n'); i >= 0; i = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, i);
      this.buffered = this.buffered.slice(i + 1);
      const waiter = this.pending.shift();
      if (waiter === undefined) continue;
      if (line === '0') waiter.resolve(undefined);
      else {
        const [errno, message] = line.split('\t');
        waiter.resolve({ errno: Number(errno), message: message ?? '' });
      }
    }
    if (this.pending.length === 0) this.hold(false);
  }

  /** Requests in flight fail over to the programs; the next call starts a new helper. */
  private gone(child: ChildProcess, err: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.buffered = '';
    for (const waiter of this.pending.splice(0)) waiter.reject(new NoMountHelper(err.message));
  }

  /** The helper keeps this process alive only while it is being asked something. */
  private hold(busy: boolean): void {
    const child = this.child;
    if (child === undefined) return;
    for (const handle of [child, child.stdin, child.stdout] as Array<{ ref?: () => void; unref?: () => void } | null>) {
      if (busy) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

/** This process's helper. */
export const mountHelper = new MountHelper();
