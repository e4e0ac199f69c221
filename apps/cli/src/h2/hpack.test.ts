import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError, huffmanDecode } from './hpack.js';

/**
 * RFC 7541 Appendix C's examples, byte for byte: C.3/C.4 (requests, without and with Huffman
 * coding) and C.5/C.6 (responses with a 256-octet dynamic table, so entries are evicted; C.6 with
 * Huffman coding), each sequence decoded by one decoder, its dynamic table checked after each block.
 */

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

const requests = [
  { fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']], table: [[':authority', 'www.example.com']], size: 57 },
  { fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']], table: [['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 110 },
  {
    fields: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
    table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
    size: 164,
  },
];
const responses = [
  {
    fields: [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']],
    table: [['location', 'https://www.example.com'], ['date', date1], ['cache-control', 'private'], [':status', '302']],
    size: 222,
  },
  {
    fields: [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']],
    table: [[':status', '307'], ['location', 'https://www.example.com'], ['date', date1], ['cache-control', 'private']],
    size: 222,
  },
  {
    fields: [[':status', '200'], ['cache-control', 'private'], ['date', date2], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', cookie]],
    table: [['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', date2]],
    size: 215,
  },
];

const C3 = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
const C4 = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
const C5 = [
  '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '4803 3330 37c1 c0bf',
  '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
];
const C6 = [
  '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
  '4883 640e ffc1 c0bf',
  '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
];

describe('HPACK decoding, RFC 7541 Appendix C', () => {
  for (const [name, blocks, expected, limit] of [
    ['C.3 requests without Huffman coding', C3, requests, 4096],
    ['C.4 requests with Huffman coding', C4, requests, 4096],
    ['C.5 responses without Huffman coding (256-octet table, evictions)', C5, responses, 256],
    ['C.6 responses with Huffman coding (256-octet table, evictions)', C6, responses, 256],
  ] as const) {
    it(name, () => {
      const decoder = new HpackDecoder(limit);
      blocks.forEach((block, i) => {
        expect(decoder.decode(hex(block))).toEqual(expected[i]!.fields);
        expect(decoder.dynamicTable).toEqual({ entries: expected[i]!.table, size: expected[i]!.size });
      });
    });
  }
});

describe('HPACK edge cases', () => {
  it('refuses Huffman padding that is not the EOS prefix, or 8 bits or more of it', () => {
    expect(huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ff')).toString()).toBe('www.example.com');
    expect(() => huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4fe'))).toThrow(HpackError); // padding with a 0 bit
    expect(() => huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ffff'))).toThrow(HpackError); // 8 more bits of padding
  });

  it('applies a table size update at the start of a block and refuses one over the announced limit', () => {
    const decoder = new HpackDecoder(4096);
    decoder.decode(hex(C3[0]!));
    expect(decoder.decode(hex('20'))).toEqual([]); // size 0: the table empties
    expect(decoder.dynamicTable).toEqual({ entries: [], size: 0 });
    expect(() => new HpackDecoder(4096).decode(hex('3fe21f'))).toThrow(/over the 4096 allowed/); // 4097
    expect(() => new HpackDecoder(4096).decode(hex('82 20'))).toThrow(/after a header field/);
    expect(() => new HpackDecoder(4096).decode(hex('be'))).toThrow(/beyond the tables/);
  });

  it('encodes literal fields without indexing that a decoder reads back, long values included', () => {
    const fields: Array<[string, string]> = [[':method', 'POST'], [':path', '/berth.Containers/List'], ['x-long', 'v'.repeat(300)]];
    const block = encodeHeaders(fields);
    expect(block[0]).toBe(0x00); // without indexing, new name
    const decoder = new HpackDecoder();
    expect(decoder.decode(block)).toEqual(fields);
    expect(decoder.dynamicTable.size).toBe(0);
  });
});
