import { ResidentHelper } from './resident-helper.js';

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

/** Thrown when there is no helper to ask: the caller runs the program instead. */
export class NoMountHelper extends Error {}

const CALLS_HERE = CALLS[process.arch];

class MountHelper {
  private readonly helper = new ResidentHelper(
    'mount helper',
    SCRIPT,
    CALLS_HERE === undefined ? [] : [String(CALLS_HERE.mount), String(CALLS_HERE.umount2)],
    CALLS_HERE === undefined || process.env.BERTH_MOUNT_HELPER === 'off',
  );

  /** Whether calls go to a helper (false: on this architecture, or perl is missing, callers run the programs). */
  get available(): boolean {
    return this.helper.available;
  }

  mount(call: MountCall): Promise<HelperAnswer> {
    return this.ask(['m', call.cwd ?? '', call.source, call.target, call.type, String(call.flags), call.data]);
  }

  umount(target: string, flags = 0): Promise<HelperAnswer> {
    if (/[\t\n\0]/.test(target)) return Promise.reject(new NoMountHelper('a target the helper cannot be given'));
    return this.ask(['u', '', '', target, '', String(flags), '']);
  }

  private async ask(fields: string[]): Promise<HelperAnswer> {
    let line: string;
    try {
      line = await this.helper.ask(fields.join('\t'));
    } catch (err) {
      throw new NoMountHelper((err as Error).message);
    }
    if (line === '0') return undefined;
    const [errno, message] = line.split('\t');
    return { errno: Number(errno), message: message ?? '' };
  }
}

/** This process's helper. */
export const mountHelper = new MountHelper();
