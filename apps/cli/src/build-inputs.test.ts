import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBuildContext, parseSecret, readSecret } from './build-inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'build-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseSecret', () => {
  it('reads the forms buildx accepts', () => {
    expect(parseSecret('id=a,src=/tmp/f', {})).toEqual({ id: 'a', file: '/tmp/f' });
    expect(parseSecret('id=a,source=/tmp/f', {})).toEqual({ id: 'a', file: '/tmp/f' });
    expect(parseSecret('id=a,env=TOKEN', {})).toEqual({ id: 'a', env: 'TOKEN' });
    expect(parseSecret('id=a,type=env,src=TOKEN', {})).toEqual({ id: 'a', env: 'TOKEN' });
    expect(parseSecret('src=/run/keys/key.pem', {})).toEqual({ id: 'key.pem', file: '/run/keys/key.pem' });
    // Neither src nor env: the variable named like the id when set, else the file.
    expect(parseSecret('id=TOKEN', { TOKEN: 'x' })).toEqual({ id: 'TOKEN', env: 'TOKEN' });
    expect(parseSecret('id=TOKEN', {})).toEqual({ id: 'TOKEN', file: 'TOKEN' });
  });

  it('refuses what buildx refuses', () => {
    expect(() => parseSecret('id=a,type=ssh', {})).toThrow('ERROR: invalid secret "id=a,type=ssh": unsupported secret type "ssh"');
    expect(() => parseSecret('id=a,bogus=1', {})).toThrow(`unexpected key 'bogus' in 'bogus=1'`);
    expect(() => parseSecret('novalue', {})).toThrow(`invalid field 'novalue' must be a key=value pair`);
  });

  it('reads the value, naming what is missing', async () => {
    writeFileSync(join(dir, 's'), 'hush');
    expect((await readSecret({ id: 'a', file: join(dir, 's') }, {})).toString()).toBe('hush');
    expect((await readSecret({ id: 'a', env: 'V' }, { V: 'v' })).toString()).toBe('v');
    await expect(readSecret({ id: 'a', env: 'V' }, {})).rejects.toThrow('ERROR: secret "a": environment variable "V" is not set');
    await expect(readSecret({ id: 'a', file: join(dir, 'nosuch') }, {})).rejects.toThrow(`cannot read "${join(dir, 'nosuch')}": no such file or directory`);
  });
});

describe('parseBuildContext', () => {
  it('takes a directory or docker-image://', async () => {
    expect(await parseBuildContext(`lib=${dir}`)).toEqual({ name: 'lib', dir });
    expect(await parseBuildContext('base=docker-image://busybox:latest')).toEqual({ name: 'base', image: 'busybox:latest' });
  });

  it('refuses the rest clearly', async () => {
    await expect(parseBuildContext('x')).rejects.toThrow('ERROR: invalid context value: x, expected key=value');
    await expect(parseBuildContext('x=https://example.com/a.git')).rejects.toThrow('source "https://example.com/a.git" is not supported');
    await expect(parseBuildContext(`x=${join(dir, 'nosuch')}`)).rejects.toThrow(`"${join(dir, 'nosuch')}" is not a directory`);
  });
});
