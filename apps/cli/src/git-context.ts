import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { StatusError } from './cli-errors.js';

/**
 * Whether a `berth build` context argument names a git repository, as docker reads it:
 * `git://…`, `git@host:…`, `ssh://…`, `github.com/…`, an `http(s)://` URL whose path ends in `.git`
 * (before an optional `#fragment`), or a `file://` URL (a local repository, bare or not).
 */
export function isGitContext(arg: string): boolean {
  if (/^(git:\/\/|git@|ssh:\/\/|github\.com\/|file:\/\/)/.test(arg)) return true;
  return /^https?:\/\/[^#]+\.git(#.*)?$/.test(arg);
}

export interface GitContext {
  /** The directory to use as the build context (the checkout, or its subdirectory). */
  dir: string;
  /** Removes the checkout. */
  remove(): Promise<void>;
}

/**
 * Checks out `spec` (`URL[#ref][:subdir]`) with the `git` command into a temporary directory:
 * only `ref` (default the remote's HEAD; a branch, tag or commit) is fetched, shallow when the
 * remote allows, with submodules; `.git` is removed. Failures are StatusErrors worded like
 * docker's: `unable to prepare context: unable to 'git clone' to temporary context directory: …`.
 */
export async function checkoutGitContext(spec: string): Promise<GitContext> {
  const hash = spec.indexOf('#');
  const url = hash < 0 ? spec : spec.slice(0, hash);
  const fragment = hash < 0 ? '' : spec.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = (colon < 0 ? fragment : fragment.slice(0, colon)) || 'HEAD';
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  // Loaded here, not with the module: node:child_process (and the node:net and node:dgram it loads)
  // cost every `berth build` ~4 ms to load, and only a git context runs a command.
  const { runCommand } = await import('@berth/subprocess');
  const root = await mkdtemp(join(tmpdir(), 'berth-build-git-'));
  const remove = () => rm(root, { recursive: true, force: true });
  const git = async (args: string[]) => {
    const res = await runCommand('git', ['-C', root, ...args], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    if (res.code !== 0) throw new Error(res.stderr.toString().trim() || `git ${args[0]} exited with ${res.code}`);
  };
  try {
    try {
      await git(['init', '-q']);
      await git(['remote', 'add', 'origin', url]);
      try {
        await git(['fetch', '-q', '--depth', '1', '--no-tags', 'origin', ref]);
        await git(['checkout', '-q', 'FETCH_HEAD']);
      } catch {
        // A commit the remote does not serve by name, or a dumb transport: fetch everything.
        await git(['fetch', '-q', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
        await git(['checkout', '-q', ref === 'HEAD' ? 'origin/HEAD' : ref]).catch(() => git(['checkout', '-q', `origin/${ref}`]));
      }
      // no submodules
      if (await stat(join(root, '.gitmodules')).catch(() => undefined)) await git(['submodule', 'update', '-q', '--init', '--recursive', '--depth', '1']);
    } catch (err) {
      const stderr = (err as Error).message.trim();
      throw new StatusError(`ERROR: unable to prepare context: unable to 'git clone' to temporary context directory: ${stderr}`, 1);
    }
    await rm(join(root, '.git'), { recursive: true, force: true });
    const dir = resolve(root, subdir);
    const rel = relative(root, dir);
    if (rel.startsWith('..') || !(await stat(dir).catch(() => undefined))?.isDirectory()) { // missing: undefined
      throw new StatusError(`ERROR: unable to prepare context: subdirectory "${subdir}" not found in ${url}#${ref}`, 1);
    }
    return { dir, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
