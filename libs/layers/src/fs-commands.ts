import { InternalError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';

/**
 * The filesystem operations Node has no API for — extended attributes and device nodes — done with
 * the `getfattr`/`setfattr` (package attr) and `mknod` (coreutils) commands. They are rare in
 * layers (whiteouts, opaque dirs, file capabilities), so each helper batches its work into one
 * process: spawning one per file would dominate the cost of unpacking.
 */

export type Xattrs = Map<string, Buffer>;

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

async function run(command: string, args: string[], input?: string | Buffer): Promise<RunResult> {
  const result = await runCommand(command, args, { input }).catch((err: Error) => {
    throw new InternalError(`Cannot run "${command}": ${err.message} (install the attr and coreutils packages)`, { cause: err });
  });
  return { stdout: result.stdout, stderr: result.stderr.toString('utf8').trim(), code: result.code };
}

/** getfattr prints names with `\ooo` octal escapes for newline, backslash and the like. */
function unescapeName(escaped: string): string {
  const bytes = Buffer.from(escaped.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), 'latin1');
  return bytes.toString('utf8');
}

function escapeName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    out += byte < 0x20 || byte === 0x5c || byte === 0x7f ? `\\${byte.toString(8).padStart(3, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/**
 * Every extended attribute under `dir` (recursively, `dir` included, symlinks not followed), keyed
 * by absolute path. `match` is getfattr's regular expression on attribute names (default: all).
 * One `getfattr` process for the whole tree.
 */
export async function readXattrsRecursive(dir: string, match = '-'): Promise<Map<string, Xattrs>> {
  const result = await run('getfattr', ['-R', '-h', '-d', '-m', match, '-e', 'hex', '--absolute-names', '--', dir]);
  if (result.code !== 0) {
    throw new InternalError(`Cannot read extended attributes under "${dir}": ${result.stderr}`);
  }
  const files = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  // Names are raw bytes: read as latin1 so that unescaping can rebuild them, then decode as UTF-8.
  for (const line of result.stdout.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      files.set(unescapeName(line.slice('# file: '.length)), current);
    } else if (current && line !== '') {
      const equals = line.indexOf('=');
      const name = unescapeName(equals === -1 ? line : line.slice(0, equals));
      const value = equals === -1 ? '' : line.slice(equals + 1);
      current.set(name, value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.alloc(0));
    }
  }
  return files;
}

/**
 * Sets extended attributes on many files (symlinks themselves, not their targets) with one
 * `setfattr --restore`. Throws InternalError naming the files the kernel refused.
 */
export async function writeXattrs(files: Array<{ path: string; xattrs: Xattrs }>): Promise<void> {
  const dump = files
    .filter((f) => f.xattrs.size > 0)
    .map(
      (f) =>
        `# file: ${escapeName(f.path)}\n` +
        [...f.xattrs].map(([name, value]) => `${escapeName(name)}=0x${value.toString('hex')}\n`).join('') +
        '\n',
    )
    .join('');
  if (dump === '') return;
  const result = await run('setfattr', ['-h', '--restore=-'], Buffer.from(dump, 'latin1'));
  if (result.code !== 0) throw new InternalError(`Cannot set extended attributes: ${result.stderr}`);
}

export interface DeviceNode {
  path: string;
  type: 'character-device' | 'block-device' | 'fifo';
  major: number;
  minor: number;
  /** Permission bits (umask does not apply). */
  mode: number;
}

/**
 * Creates device nodes and fifos (owned by the caller: chown them afterwards) with one shell
 * process running `mknod` for each; nothing may exist at the paths.
 */
export async function makeNodes(nodes: DeviceNode[]): Promise<void> {
  if (nodes.length === 0) return;
  const args = nodes.flatMap((n) => [
    n.path,
    (n.mode & 0o777).toString(8),
    n.type === 'fifo' ? 'p' : n.type === 'character-device' ? 'c' : 'b',
    String(n.major),
    String(n.minor),
  ]);
  const script =
    'while [ $# -gt 0 ]; do if [ "$3" = p ]; then mknod -m "$2" -- "$1" p; else mknod -m "$2" -- "$1" "$3" "$4" "$5"; fi || exit 1; shift 5; done';
  const result = await run('sh', ['-c', script, 'mknod-batch', ...args]);
  if (result.code !== 0) throw new InternalError(`Cannot create device node: ${result.stderr}`);
}
