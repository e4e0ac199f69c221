import { readFileSync, statSync } from 'node:fs';

/**
 * The only I/O the loader does: reading files. Injected so that tests (and callers holding files
 * elsewhere) can supply their own; `nodeFs` reads the real file system.
 */
export interface ComposeFs {
  /** The file's text; throws an error with code ENOENT when it does not exist. */
  readFile(path: string): string;
  /** 'file', 'dir', or undefined when nothing is there. */
  stat(path: string): 'file' | 'dir' | undefined;
}

export const nodeFs: ComposeFs = {
  readFile: (path) => readFileSync(path, 'utf8'),
  stat: (path) => {
    try {
      const s = statSync(path);
      return s.isDirectory() ? 'dir' : 'file';
    } catch {
      // a path that does not exist (or cannot be seen) is simply absent
      return undefined;
    }
  },
};
