/** ContextFile ⇄ its proto message (berth.v1.ContextFile), for the CLI and the builder. */
import { InvalidArgumentError } from '@berth/errors';
import type { ContextFileEntry } from '@berth/proto';
import { checkContextPath, type ContextFile } from './context-files.js';

export function contextFileToProto(f: ContextFile): ContextFileEntry {
  return { path: f.path, type: f.type, mode: f.mode, size: f.size, mtimeMs: f.mtimeMs, linkname: f.linkname ?? '' };
}

export function contextFileFromProto(f: ContextFileEntry): ContextFile {
  if (f.type !== 'file' && f.type !== 'dir' && f.type !== 'symlink') {
    throw new InvalidArgumentError(`Invalid context entry "${f.path}": type "${f.type}", expected file, dir or symlink`);
  }
  return { path: checkContextPath(f.path), type: f.type, mode: f.mode & 0o7777, size: f.size, mtimeMs: f.mtimeMs, ...(f.type === 'symlink' ? { linkname: f.linkname } : {}) };
}
