import { InternalError } from '@berth/errors';
import { encodeHeader, END_OF_ARCHIVE, paddingOf, readTar, type TarHeader } from './tar-format.js';

/** One entry to write: the header fields that differ from the defaults, and a regular file's body. */
export interface TarWriteEntry {
  /**
   * `name` is required; the rest defaults to a regular file of the body's size (or 0), mode 0644
   * (0755 for a directory),
   * owner 0:0, mtime 0 (seconds since the epoch), no link, no device, no extended attributes.
   */
  header: Partial<TarHeader> & { name: string };
  /** A regular file's content; an iterable body must yield exactly `header.size` bytes. */
  body?: Buffer | AsyncIterable<Buffer>;
}

/** The full header of `fields`, every field not given at its default (see TarWriteEntry). */
export function tarHeader(fields: Partial<TarHeader> & { name: string }, bodySize = 0): TarHeader {
  return {
    type: 'file',
    size: bodySize,
    mode: fields.type === 'directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...fields,
  };
}

/**
 * Writes a tar archive (readTar's counterpart: ustar headers, PAX records for what ustar cannot
 * hold, extended attributes as raw bytes under `SCHILY.xattr.*`). Entries are written as they
 * come, bodies streamed; the end-of-archive marker closes it. InternalError when an iterable body
 * yields another size than its header says (the archive would be corrupt).
 */
export async function* writeTar(entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    const body = entry.body;
    const header = tarHeader(entry.header, Buffer.isBuffer(body) ? body.length : 0);
    yield encodeHeader(header);
    let written = 0;
    if (Buffer.isBuffer(body)) {
      if (body.length > 0) yield body;
      written = body.length;
    } else if (body) {
      for await (const chunk of body) {
        written += chunk.length;
        if (written > header.size) break;
        yield chunk;
      }
    }
    if (written !== header.size) {
      throw new InternalError(`Cannot write "${header.name}" into a tar: its body has ${written > header.size ? 'more' : 'fewer'} than the ${header.size} bytes of its header`);
    }
    const padding = paddingOf(header.size);
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield END_OF_ARCHIVE;
}

/** A whole archive in memory (small archives: tests, documents). */
export async function tarBuffer(entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of writeTar(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A whole archive's entries in memory, bodies read (small archives: tests, documents). */
export async function readTarEntries(chunks: AsyncIterable<Buffer> | Buffer): Promise<Array<{ header: TarHeader; body: Buffer }>> {
  const source = Buffer.isBuffer(chunks) ? (async function* () { yield chunks; })() : chunks;
  const out: Array<{ header: TarHeader; body: Buffer }> = [];
  for await (const entry of readTar(source)) {
    const parts: Buffer[] = [];
    for await (const part of entry.body) parts.push(part);
    out.push({ header: entry.header, body: Buffer.concat(parts) });
  }
  return out;
}
