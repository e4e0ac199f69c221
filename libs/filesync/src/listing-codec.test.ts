import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ContextFile } from './context-files.js';
import { decodeListing, encodeListing } from './listing-codec.js';

const files: ContextFile[] = [
  { path: 'src', type: 'dir', mode: 0o755, size: 0, mtimeMs: 1733000000123.456 },
  { path: 'src/a "b"\n.txt', type: 'file', mode: 0o644, size: 12, mtimeMs: 1733000000000 },
  { path: 'link', type: 'symlink', mode: 0o777, size: 0, mtimeMs: 1, linkname: '../elsewhere' },
];

const decode = (json: string) => decodeListing(gzipSync(json));

describe('encodeListing / decodeListing', () => {
  it('gives back the entries as listed, odd names and fractional mtimes included', () => {
    expect(decodeListing(encodeListing(files))).toEqual(files);
    expect(decodeListing(encodeListing([]))).toEqual([]);
    // A view into a larger buffer, as a decoded gRPC message gives it.
    const inside = Buffer.concat([Buffer.from('xx'), encodeListing(files)]).subarray(2);
    expect(decodeListing(inside)).toEqual(files);
  });

  it('refuses what the builder must not trust, as contextFileFromProto does', () => {
    expect(() => decode('{')).toThrow(/^Invalid context listing: /);
    expect(() => decodeListing(Buffer.from('[]'))).toThrow('Invalid context listing: incorrect header check');
    expect(() => decode('{}')).toThrow('Invalid context listing: expected an array of entries');
    expect(() => decode('[["a","file",420,1,1]]')).toThrow('Invalid context entry ["a","file",420,1,1]: expected [path, type, mode, size, mtimeMs, linkname]');
    expect(() => decode('[["a","file",420,-1,1,""]]')).toThrow('Invalid context entry ["a","file",420,-1,1,""]: expected [path, type, mode, size, mtimeMs, linkname]');
    expect(() => decode('[["a","fifo",420,0,1,""]]')).toThrow('Invalid context entry "a": type "fifo", expected file, dir or symlink');
    expect(() => decode('[["../etc/passwd","file",420,0,1,""]]')).toThrow('Invalid context path "../etc/passwd": expected a clean relative path');
    // Only permission bits are kept; a linkname counts for symlinks only.
    expect(decode('[["a","file",33188,0,1,"x"]]')).toEqual([{ path: 'a', type: 'file', mode: 0o644, size: 0, mtimeMs: 1 }]);
  });
});
