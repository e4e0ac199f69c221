/**
 * HPACK (RFC 7541) as the CLI's HTTP/2 client needs it: decoding every representation a server may
 * send (indexed fields, literals with and without indexing, the dynamic table and its size updates,
 * Huffman-coded strings: nghttp2 and grpc-js servers use all of them), and encoding requests as
 * literal fields without indexing and without Huffman (section 6.2.2), which needs no state.
 */

/** A decoding failure: the connection cannot go on (HTTP/2 COMPRESSION_ERROR). */
export class HpackError extends Error {
  constructor(message: string) {
    super(`HPACK: ${message}`);
    this.name = 'HpackError';
  }
}

/** The static table (Appendix A): index 1 is the first entry. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/**
 * The Huffman code's lengths in bits, symbol 0 to 255 and EOS (256), from Appendix B. The code is
 * canonical (codes of one length are consecutive, in symbol order, each length's first code follows
 * the last of the shorter ones), so the lengths alone define it; hpack.test.ts checks RFC 7541's
 * Huffman examples (C.4, C.6) against it.
 */
const HUFFMAN_LENGTHS =
  '13,23,28,28,28,28,28,28,28,24,30,28,28,30,28,28,28,28,28,28,28,28,30,28,28,28,28,28,28,28,28,28,' +
  '6,10,10,12,13,6,8,11,10,10,8,11,8,6,6,6,5,5,5,6,6,6,6,6,6,6,7,8,15,6,12,10,' +
  '13,6,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,8,7,8,13,19,13,14,6,' +
  '15,5,6,5,6,5,6,6,6,5,7,7,6,6,6,5,6,7,6,5,5,6,7,7,7,7,7,15,11,14,13,28,' +
  '20,22,20,20,22,22,22,23,22,23,23,23,23,23,24,23,24,24,22,23,24,23,23,23,23,21,22,23,22,23,23,24,' +
  '22,21,20,22,22,23,23,21,23,22,22,24,21,22,23,23,21,21,22,21,23,22,23,23,20,22,22,22,23,22,22,23,' +
  '26,26,20,19,22,23,22,25,26,26,26,27,27,26,24,25,19,21,26,27,27,26,27,24,21,21,26,26,28,27,27,27,' +
  '20,24,20,21,22,21,21,23,22,22,25,25,24,24,26,23,26,27,26,26,27,27,27,27,27,28,27,27,27,27,27,26,30';

const EOS = 256;

/** Canonical decoding: per length, its first code, how many codes it has, where its symbols start. */
interface HuffmanTable {
  first: number[];
  count: number[];
  offset: number[];
  symbols: number[];
}

let huffman: HuffmanTable | undefined;

function huffmanTable(): HuffmanTable {
  if (huffman) return huffman;
  const lengths = HUFFMAN_LENGTHS.split(',').map(Number);
  const symbols = [...lengths.keys()].sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const first: number[] = [];
  const count: number[] = [];
  const offset: number[] = [];
  let code = 0;
  let length = 0;
  symbols.forEach((symbol, i) => {
    const l = lengths[symbol]!;
    for (; length < l; length++) code *= 2;
    if (count[l] === undefined) {
      first[l] = code;
      count[l] = 0;
      offset[l] = i;
    }
    count[l]!++;
    code++;
  });
  huffman = { first, count, offset, symbols };
  return huffman;
}

/** Decodes a Huffman-coded string (section 5.2): padding must be the EOS code's leading 1 bits, under 8 of them. */
export function huffmanDecode(bytes: Uint8Array): Buffer {
  const { first, count, offset, symbols } = huffmanTable();
  const out: number[] = [];
  let code = 0;
  let length = 0;
  let ones = true; // the bits of the code under way are all 1 (a valid padding so far)
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      code = code * 2 + b;
      length++;
      ones &&= b === 1;
      const n = count[length];
      if (n !== undefined && code - first[length]! < n && code >= first[length]!) {
        const symbol = symbols[offset[length]! + code - first[length]!]!;
        if (symbol === EOS) throw new HpackError('EOS in a Huffman-coded string');
        out.push(symbol);
        code = 0;
        length = 0;
        ones = true;
      } else if (length > 30) {
        throw new HpackError('an invalid Huffman code');
      }
    }
  }
  if (length > 7 || !ones) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out);
}

/** One header field as decoded: lower-case name, value as Latin-1 (what Node's http2 gives). */
export type HeaderField = [name: string, value: string];

/** A header block decoder: one per connection, its dynamic table kept across blocks (section 2.3). */
export class HpackDecoder {
  private table: HeaderField[] = []; // newest first
  private size = 0;
  private maxSize: number;

  /** `limit`: SETTINGS_HEADER_TABLE_SIZE as this side announced it (4096 unless changed). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** The fields of one whole header block (HEADERS and its CONTINUATIONs joined). */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    const at = { pos: 0 };
    let fieldSeen = false;
    while (at.pos < block.length) {
      const byte = block[at.pos]!;
      if (byte & 0x80) {
        fields.push(this.entry(integer(block, at, 7)));
        fieldSeen = true;
      } else if (byte & 0x40) {
        const field = this.literal(block, at, 6);
        this.add(field);
        fields.push(field);
        fieldSeen = true;
      } else if (byte & 0x20) {
        // A dynamic table size update: only at the start of a block (section 4.2).
        if (fieldSeen) throw new HpackError('a table size update after a header field');
        const size = integer(block, at, 5);
        if (size > this.limit) throw new HpackError(`a table size of ${size} over the ${this.limit} allowed`);
        this.maxSize = size;
        this.evict(0);
      } else {
        fields.push(this.literal(block, at, 4)); // without indexing, or never indexed
        fieldSeen = true;
      }
    }
    return fields;
  }

  /** The dynamic table's entries, newest first, and its size (for the tests). */
  get dynamicTable(): { entries: HeaderField[]; size: number } {
    return { entries: this.table.map(([n, v]) => [n, v]), size: this.size };
  }

  private entry(index: number): HeaderField {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC.length) {
      const [name, value] = STATIC[index - 1]!;
      return [name, value];
    }
    const found = this.table[index - STATIC.length - 1];
    if (!found) throw new HpackError(`index ${index} beyond the tables`);
    return [found[0], found[1]];
  }

  private literal(block: Uint8Array, at: { pos: number }, prefix: number): HeaderField {
    const index = integer(block, at, prefix);
    const name = index === 0 ? string(block, at) : this.entry(index)[0];
    return [name, string(block, at)];
  }

  private add(field: HeaderField): void {
    const size = entrySize(field);
    this.evict(size);
    if (size > this.maxSize) return; // larger than the table: the table is now empty (section 4.4)
    this.table.unshift(field);
    this.size += size;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.table.length > 0 && this.size + room > this.maxSize) this.size -= entrySize(this.table.pop()!);
  }
}

function entrySize([name, value]: HeaderField): number {
  return Buffer.byteLength(name, 'latin1') + Buffer.byteLength(value, 'latin1') + 32;
}

/** An integer with an N-bit prefix (section 5.1). */
function integer(block: Uint8Array, at: { pos: number }, prefix: number): number {
  if (at.pos >= block.length) throw new HpackError('a truncated integer');
  const max = (1 << prefix) - 1;
  let value = block[at.pos++]! & max;
  if (value < max) return value;
  let shift = 0;
  for (;;) {
    if (at.pos >= block.length) throw new HpackError('a truncated integer');
    const byte = block[at.pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0xffffffff) throw new HpackError('an integer over 32 bits');
    if ((byte & 0x80) === 0) return value;
  }
}

/** A string literal (section 5.2), Huffman-coded or not. */
function string(block: Uint8Array, at: { pos: number }): string {
  if (at.pos >= block.length) throw new HpackError('a truncated string');
  const huffmanCoded = (block[at.pos]! & 0x80) !== 0;
  const length = integer(block, at, 7);
  if (at.pos + length > block.length) throw new HpackError('a truncated string');
  const raw = block.subarray(at.pos, at.pos + length);
  at.pos += length;
  return (huffmanCoded ? huffmanDecode(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.length)).toString('latin1');
}

function encodeInteger(out: number[], value: number, prefix: number, first: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function encodeString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  encodeInteger(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * A header block of literal fields without indexing, new names (section 6.2.2), in the order given:
 * no dynamic table entry is made, so the server's decoder needs nothing from earlier blocks.
 */
export function encodeHeaders(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    out.push(0);
    encodeString(out, name);
    encodeString(out, value);
  }
  return Buffer.from(out);
}
