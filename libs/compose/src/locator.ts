import { pathString, type SourceLocation } from './compose-error.js';
import type { PathSegments } from './parse-yaml.js';

/**
 * Finds which file (and line) defined a field of the merged model, for errors raised after the
 * files were merged (normalization, consistency checks): the last file that defines the path, or
 * the nearest ancestor of it, wins, as later files override earlier ones.
 */
export class Locator {
  private readonly files: Array<{ file: string; lines: Map<string, number> }> = [];

  constructor(private readonly mainFile: string) {}

  add(file: string, lines: Map<string, number>): void {
    this.files.push({ file, lines });
  }

  locate(path: PathSegments): SourceLocation {
    const text = pathString(path);
    for (let n = path.length; n > 0; n--) {
      const key = pathString(path.slice(0, n));
      for (let i = this.files.length - 1; i >= 0; i--) {
        const line = this.files[i]!.lines.get(key);
        if (line !== undefined) return { file: this.files[i]!.file, path: text, line };
      }
    }
    return { file: this.mainFile, path: text };
  }
}
