import { lstat, readFile, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';

/** The identity a container process runs as, resolved from a Docker `--user` value. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /**
   * Supplementary groups, as Docker sets them (daemon getUser, since the fix of GHSA-hmfx-3pcx-653p):
   * the primary gid first, then, when no group was given, the groups of /etc/group listing the user.
   */
  additionalGids: number[];
  /** The passwd entry's home directory, `/` when there is none (Docker sets `HOME` from it). */
  home: string;
  /** The passwd entry's name, when one matched. */
  name?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/**
 * Resolves a Docker `--user` value (``, `name`, `uid`, `name:group`, `uid:gid`, `name:gid`, ...)
 * against the image's /etc/passwd and /etc/group, read inside `rootfs` without following any
 * symlink out of it. Follows moby/sys/user `GetExecUser`: a numeric uid or gid with no entry is used
 * as is (gid 0 by default); a name with no entry is an InvalidArgumentError with Docker's text
 * `unable to find user app2: no matching entries in passwd file`.
 */
export async function resolveUser(rootfs: string, user: string): Promise<ResolvedUser> {
  const [userArg = '', groupArg = ''] = splitOnce(user, ':');
  const passwd = parsePasswd(await readInRoot(rootfs, '/etc/passwd'));
  const isUid = /^\d+$/.test(userArg);
  const result: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };

  // An empty user means root; a root entry (if any) still provides the gid, home and name.
  const match = passwd.find((p) => (userArg === '' ? p.uid === 0 : isUid ? p.uid === Number(userArg) : p.name === userArg));
  if (match) {
    Object.assign(result, { uid: match.uid, gid: match.gid, home: match.home || '/', name: match.name });
  } else if (isUid) {
    result.uid = checkId(Number(userArg), 'uid', userArg);
  } else if (userArg !== '') {
    throw new InvalidArgumentError(`unable to find user ${userArg}: no matching entries in passwd file`);
  }

  if (groupArg !== '' || result.name !== undefined) {
    const groups = parseGroup(await readInRoot(rootfs, '/etc/group'));
    const isGid = /^\d+$/.test(groupArg);
    if (groupArg !== '') {
      const group = groups.find((g) => (isGid ? g.gid === Number(groupArg) : g.name === groupArg));
      if (group) result.gid = group.gid;
      else if (isGid) result.gid = checkId(Number(groupArg), 'gid', groupArg);
      else throw new InvalidArgumentError(`unable to find group ${groupArg}: no matching entries in group file`);
    } else {
      // Supplementary groups only make sense in the implicit form (no explicit group).
      result.additionalGids = groups.filter((g) => g.members.includes(result.name!)).map((g) => g.gid);
    }
  }
  // The primary group is a supplementary one too: a process that changes its gid keeps it.
  result.additionalGids = [...new Set([result.gid, ...result.additionalGids])];
  return result;
}

/**
 * `--group-add` values as gids: a number is used as is, a name is looked up in the container's
 * /etc/group (moby `GetAdditionalGroupsPath`). InvalidArgumentError
 * `Unable to find group NAME: no matching entries in group file` for an unknown name.
 */
export async function resolveGroups(rootfs: string, names: string[]): Promise<number[]> {
  if (names.length === 0) return [];
  const groups = parseGroup(await readInRoot(rootfs, '/etc/group'));
  return names.map((name) => {
    const group = groups.find((g) => g.name === name) ?? (/^\d+$/.test(name) ? { gid: checkId(Number(name), 'gid', name) } : undefined);
    if (!group) throw new InvalidArgumentError(`Unable to find group ${name}: no matching entries in group file`);
    return group.gid;
  });
}

function checkId(id: number, what: string, text: string): number {
  if (!Number.isSafeInteger(id) || id > 0xffffffff - 1) {
    throw new InvalidArgumentError(`Invalid ${what} "${text}": expected a number below 4294967295`);
  }
  return id;
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 4 || line.trim().startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || f[2] === '' || f[3] === '') continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] ?? '' });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || line.trim().startsWith('#') || f[2] === '') continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/** Reads a file of the rootfs, or '' when it does not exist. */
async function readInRoot(rootfs: string, path: string): Promise<string> {
  try {
    return await readFile(await securePath(rootfs, path), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return '';
    throw err;
  }
}

/**
 * Joins `path` under `root` resolving every symlink as if `root` were `/` (like
 * cyphar/filepath-securejoin), so that `/etc/passwd -> ../../../../etc/shadow` stays inside the root.
 */
export async function securePath(root: string, path: string): Promise<string> {
  const pending = posix.normalize('/' + path).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const full = posix.join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(full)).isSymbolicLink();
    } catch {
      // A missing component: the rest of the path is joined as is.
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > 255) throw new InvalidArgumentError(`Cannot resolve "${path}" in "${root}": too many levels of symbolic links`);
    const target = await readlink(full);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...resolved);
}
