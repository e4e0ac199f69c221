import { readFile } from 'node:fs/promises';

/** Whether `path` is a mountpoint in this process's mount namespace (from /proc/self/mountinfo). */
export async function isMountpoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const target = line.split(' ')[4];
    if (target !== undefined && unescape(target) === path) return true;
  }
  return false;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
