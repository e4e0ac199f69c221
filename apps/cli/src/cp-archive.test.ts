import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyInfoDestinationPath, getRebaseName, prepareArchiveCopy, splitPathDirEntry } from './cp-archive.js';
import { splitCpArg } from './commands/cp.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cp-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const none: AsyncIterable<Buffer> = (async function* () {})();

describe("go-archive's copy rules", () => {
  it('splits paths as SplitPathDirEntry does', () => {
    expect(splitPathDirEntry('/a/b')).toEqual(['/a', 'b']);
    expect(splitPathDirEntry('/a/b/')).toEqual(['/a', 'b']);
    expect(splitPathDirEntry('/a/b/.')).toEqual(['/a/b', '.']);
    expect(splitPathDirEntry('/')).toEqual(['/', '/']);
    expect(getRebaseName('/link/', '/real')).toEqual(['/real/', 'link']);
  });

  it("decides where to extract, with go-archive's errors", () => {
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'f'), '');
    const file = { path: '/src/file', exists: true, isDir: false, rebaseName: '' };
    const folder = { path: '/src/folder', exists: true, isDir: true, rebaseName: '' };
    expect(prepareArchiveCopy(none, file, copyInfoDestinationPath(join(dir, 'd'))).dstDir).toBe(join(dir, 'd'));
    expect(prepareArchiveCopy(none, file, copyInfoDestinationPath(join(dir, 'new'))).dstDir).toBe(dir);
    expect(() => prepareArchiveCopy(none, folder, copyInfoDestinationPath(join(dir, 'f')))).toThrow('cannot copy directory');
    expect(() => prepareArchiveCopy(none, file, copyInfoDestinationPath(join(dir, 'missing/')))).toThrow('no such directory');
    expect(() => copyInfoDestinationPath(join(dir, 'nope', 'x'))).toThrow(`stat ${join(dir, 'nope')}: no such file or directory`);
  });

  it('tells a container path from a local one as splitCpArg does', () => {
    expect(splitCpArg('web:/etc')).toEqual({ container: 'web', path: '/etc' });
    expect(splitCpArg('/abs:colon')).toEqual({ container: '', path: '/abs:colon' });
    expect(splitCpArg('./file:name')).toEqual({ container: '', path: './file:name' });
    expect(splitCpArg('plain')).toEqual({ container: '', path: 'plain' });
  });
});
