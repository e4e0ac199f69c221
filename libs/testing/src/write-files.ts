import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What `writeFiles` writes at one path: its content, or its content and mode. */
export type FileSpec = string | { content: string | Buffer; mode?: number };

/**
 * Writes `files` (relative path → content, or `{ content, mode }`) under `dir`, making parent
 * directories as needed: a build context, a Compose project, a fixture tree.
 */
export async function writeFiles(dir: string, files: Record<string, FileSpec>): Promise<void> {
  for (const [name, value] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    const { content, mode } = typeof value === 'string' ? { content: value, mode: undefined } : value;
    await writeFile(path, content);
    if (mode !== undefined) await chmod(path, mode);
  }
}
