import { InvalidArgumentError } from '@berth/errors';

/**
 * A small streaming codec for the tar format layers use: POSIX ustar headers, PAX extended headers
 * (`x`, and global `g` when reading) and, when reading only, GNU long names (`L`/`K`).
 *
 * The platform's one tar codec (writing: tar-writer.ts). Why not a general tar package: tar-stream,
 * for one, decodes every PAX value as UTF-8 text, which corrupts binary extended attributes such as
 * `security.capability` (Go's archive/tar writes them as raw bytes under `SCHILY.xattr.*`). Values
 * here stay Buffers end to end. The tests check this codec against archives GNU tar writes and reads.
 */

export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo';

export interface TarHeader {
  /** Name as stored in the archive (directories may end with "/"); not cleaned. */
  name: string;
  type: TarEntryType;
  /** Body size in bytes (0 for everything but regular files). */
  size: number;
  /** Permission bits including setuid, setgid and sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Modification time in seconds since the epoch; fractional when PAX gives sub-second time. */
  mtime: number;
  /** Target of a symlink, or the archive name of a hardlink's target. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes, from `SCHILY.xattr.<name>` (or `LIBARCHIVE.xattr.<name>`) records. */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /**
   * The entry's body. Read it (or not) before asking the reader for the next entry: whatever is
   * left unread is skipped.
   */
  body: AsyncIterable<Buffer>;
}

const BLOCK = 512;
/** PAX and GNU long-name records above this size are refused (a corrupt or hostile archive). */
const MAX_META_SIZE = 16 * 1024 * 1024;

const typeByFlag: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere that matters
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};
const flagByType: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

/** Pulls exact byte counts out of a chunk iterator without copying more than needed. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far (the offset of the next byte in the stream). */
  offset = 0;

  constructor(private readonly iterator: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly `n` bytes, or null at a clean end of stream; a partial read is a truncated archive. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return null;
      throw truncated(this.offset + this.buffered);
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.offset += n;
    return out;
  }

  /** Up to `max` bytes (at least one); throws at end of stream. */
  async take(max: number): Promise<Buffer> {
    if (!(await this.fill(1))) throw truncated(this.offset);
    const first = this.chunks[0];
    const out = first.length <= max ? first : first.subarray(0, max);
    if (out === first) this.chunks.shift();
    else this.chunks[0] = first.subarray(max);
    this.buffered -= out.length;
    this.offset += out.length;
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.take(n)).length;
  }

  /** Reads (and discards) everything left, so that whoever hashes the stream sees all of it. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!(await this.iterator.next()).done) {
      // discard
    }
    this.ended = true;
  }
}

function truncated(offset: number): InvalidArgumentError {
  return new InvalidArgumentError(`Invalid layer tar: unexpected end of data at byte ${offset}`);
}

/**
 * Reads a tar archive entry by entry. PAX, GNU long-name and global headers are folded into the
 * entry they describe. Stops at the end-of-archive marker (a zero block), then drains the rest of
 * the input so that a digest computed over `chunks` covers every byte, trailing padding included.
 * Throws InvalidArgumentError for a corrupt or unsupported archive.
 */
export async function* readTar(chunks: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const source = new ByteSource(chunks[Symbol.asyncIterator]());
  let global = new Map<string, Buffer>();
  let local = new Map<string, Buffer>();
  let gnuName: string | undefined;
  let gnuLink: string | undefined;
  for (;;) {
    const offset = source.offset;
    const block = await source.read(BLOCK);
    if (block === null || block.every((b) => b === 0)) break;
    verifyChecksum(block, offset);
    const flag = String.fromCharCode(block[156]);
    const size = parseNumber(block, 124, 12, offset);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META_SIZE) {
        throw new InvalidArgumentError(`Invalid layer tar: extended header at byte ${offset} is larger than 16 MiB`);
      }
      const data = (await source.read(size)) ?? Buffer.alloc(0);
      if (data.length !== size) throw truncated(source.offset);
      await source.skip(paddingOf(size));
      if (flag === 'x') local = new Map([...local, ...parsePax(data, offset)]);
      else if (flag === 'g') global = new Map([...global, ...parsePax(data, offset)]);
      else if (flag === 'L') gnuName = cString(data);
      else gnuLink = cString(data);
      continue;
    }
    const pax = new Map([...global, ...local]);
    const header = decodeHeader(block, flag, pax, offset);
    if (gnuName !== undefined && !pax.has('path')) header.name = gnuName;
    if (gnuLink !== undefined && !pax.has('linkpath')) header.linkname = gnuLink;
    local = new Map();
    gnuName = gnuLink = undefined;

    let remaining = header.size;
    const body = (async function* () {
      while (remaining > 0) {
        const chunk = await source.take(remaining);
        remaining -= chunk.length;
        yield chunk;
      }
    })();
    yield { header, body };
    await source.skip(remaining);
    remaining = 0;
    await source.skip(paddingOf(header.size));
  }
  await source.drain();
}

function decodeHeader(block: Buffer, flag: string, pax: Map<string, Buffer>, offset: number): TarHeader {
  let name = cString(block.subarray(0, 100));
  const ustar = block.subarray(257, 263).toString('latin1') === 'ustar\0';
  if (ustar && block[345] !== 0) name = `${cString(block.subarray(345, 500))}/${name}`;
  let type = typeByFlag[flag];
  if (type === undefined) {
    throw new InvalidArgumentError(
      `Invalid layer tar: entry "${name}" has unsupported type flag "${flag.replace(/[^\x20-\x7e]/g, '?')}"`,
    );
  }
  const paxText = (key: string) => pax.get(key)?.toString('utf8');
  const paxNumber = (key: string, fallback: number) => {
    const text = paxText(key);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value)) {
      throw new InvalidArgumentError(`Invalid layer tar: PAX record "${key}" of "${name}" is not a number: "${text}"`);
    }
    return value;
  };
  name = paxText('path') ?? name;
  // Old archives mark directories only by the trailing slash of a regular-file entry.
  if (type === 'file' && flag !== '7' && name.endsWith('/')) type = 'directory';
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value.toString('latin1'), 'base64'));
    }
  }
  const header: TarHeader = {
    name,
    type,
    size: paxNumber('size', parseNumber(block, 124, 12, offset)),
    mode: parseNumber(block, 100, 8, offset) & 0o7777,
    uid: paxNumber('uid', parseNumber(block, 108, 8, offset)),
    gid: paxNumber('gid', parseNumber(block, 116, 8, offset)),
    uname: paxText('uname') ?? (cString(block.subarray(265, 297)) || undefined),
    gname: paxText('gname') ?? (cString(block.subarray(297, 329)) || undefined),
    mtime: paxNumber('mtime', parseNumber(block, 136, 12, offset)),
    linkname: paxText('linkpath') ?? cString(block.subarray(157, 257)),
    devmajor: ustar || block[329] !== 0 ? parseNumber(block, 329, 8, offset) : 0,
    devminor: ustar || block[337] !== 0 ? parseNumber(block, 337, 8, offset) : 0,
    xattrs,
  };
  // Only regular files have a body; as in Go's archive/tar, a size on any other type is ignored
  // (no data follows it in the archive).
  if (type !== 'file') header.size = 0;
  return header;
}

function verifyChecksum(block: Buffer, offset: number): void {
  const stored = parseNumber(block, 148, 8, offset);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new InvalidArgumentError(
      `Invalid layer tar: bad header checksum at byte ${offset} (is it a tar, or compressed with something other than gzip?)`,
    );
  }
}

/** An octal field (NUL/space terminated), or GNU base-256 when the high bit of the first byte is set. */
function parseNumber(block: Buffer, start: number, length: number, offset: number): number {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    if (field[0] === 0xff) throw new InvalidArgumentError(`Invalid layer tar: negative number in header at byte ${offset}`);
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new InvalidArgumentError(`Invalid layer tar: bad number "${text}" in header at byte ${offset}`);
  }
  return parseInt(text, 8);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

/** PAX records: `<length> <key>=<value>\n`, where value is raw bytes. */
function parsePax(data: Buffer, offset: number): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw new InvalidArgumentError(`Invalid layer tar: malformed PAX record in header at byte ${offset}`);
    }
    const record = data.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new InvalidArgumentError(`Invalid layer tar: malformed PAX record in header at byte ${offset}`);
    records.set(record.subarray(0, equals).toString('utf8'), Buffer.from(record.subarray(equals + 1)));
    at += length;
  }
  return records;
}

export function paddingOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Two zero blocks: the end-of-archive marker. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

const isAscii = (s: string) => /^[\x01-\x7f]*$/.test(s);

/**
 * Encodes one entry's header: a ustar block, preceded by a PAX extended header when a field does
 * not fit ustar (long or non-ASCII names, big ids or sizes, extended attributes). The body and its
 * padding (`paddingOf(size)` zero bytes) are the caller's to write.
 */
export function encodeHeader(header: TarHeader): Buffer {
  const pax = new Map<string, Buffer>();
  let name = header.name;
  let prefix = '';
  if (!isAscii(name) || Buffer.byteLength(name) > 100) {
    const split = splitUstarName(name);
    if (split) [prefix, name] = split;
    else {
      pax.set('path', Buffer.from(header.name));
      name = asciiTail(header.name, 100);
    }
  }
  let linkname = header.linkname;
  if (!isAscii(linkname) || linkname.length > 100) {
    pax.set('linkpath', Buffer.from(linkname));
    linkname = asciiTail(linkname, 100);
  }
  const MAX_ID = 0o7777777;
  const MAX_BIG = 0o77777777777;
  const mtime = Math.floor(header.mtime);
  if (header.uid > MAX_ID) pax.set('uid', Buffer.from(String(header.uid)));
  if (header.gid > MAX_ID) pax.set('gid', Buffer.from(String(header.gid)));
  if (header.size > MAX_BIG) pax.set('size', Buffer.from(String(header.size)));
  if (mtime < 0 || mtime > MAX_BIG) pax.set('mtime', Buffer.from(String(mtime)));
  for (const key of ['uname', 'gname'] as const) {
    const value = header[key];
    if (value !== undefined && (!isAscii(value) || value.length > 31)) pax.set(key, Buffer.from(value));
  }
  for (const [key, value] of [...header.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    pax.set(`SCHILY.xattr.${key}`, value);
  }

  const ustar = ustarBlock({
    name,
    prefix,
    mode: header.mode & 0o7777,
    uid: header.uid > MAX_ID ? 0 : header.uid,
    gid: header.gid > MAX_ID ? 0 : header.gid,
    size: header.size > MAX_BIG ? 0 : header.size,
    mtime: mtime < 0 || mtime > MAX_BIG ? 0 : mtime,
    flag: flagByType[header.type],
    linkname,
    uname: pax.has('uname') ? '' : (header.uname ?? ''),
    gname: pax.has('gname') ? '' : (header.gname ?? ''),
    devmajor: header.devmajor,
    devminor: header.devminor,
  });
  if (pax.size === 0) return ustar;

  const records = Buffer.concat([...pax].map(([key, value]) => paxRecord(key, value)));
  const paxHeader = ustarBlock({
    name: asciiTail(`PaxHeaders.0/${header.name.replace(/\/+$/, '').split('/').pop() ?? ''}`, 100),
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: ustarMtime(mtime),
    flag: 'x',
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(paddingOf(records.length)), ustar]);
}

function ustarMtime(mtime: number): number {
  return mtime < 0 || mtime > 0o77777777777 ? 0 : mtime;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/** Splits a long ASCII name at a "/" so that it fits ustar's 155-byte prefix + 100-byte name. */
function splitUstarName(name: string): [string, string] | undefined {
  if (!isAscii(name) || name.length > 256) return undefined;
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return [prefix, rest];
  }
  return undefined;
}

/** A printable stand-in for a field whose real value is in a PAX record. */
function asciiTail(value: string, max: number): string {
  const ascii = value.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  flag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  const text = (value: string, start: number, length: number) => block.write(value, start, length, 'utf8');
  const octal = (value: number, start: number, length: number) =>
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, start, length, 'latin1');
  text(f.name, 0, 100);
  octal(f.mode, 100, 8);
  octal(f.uid, 108, 8);
  octal(f.gid, 116, 8);
  octal(f.size, 124, 12);
  octal(f.mtime, 136, 12);
  block.write('        ', 148, 8, 'latin1');
  block.write(f.flag, 156, 1, 'latin1');
  text(f.linkname, 157, 100);
  block.write('ustar\x0000', 257, 8, 'latin1');
  text(f.uname, 265, 32);
  text(f.gname, 297, 32);
  octal(f.devmajor, 329, 8);
  octal(f.devminor, 337, 8);
  text(f.prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}
