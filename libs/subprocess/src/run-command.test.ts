import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { runCommand, signalNumber } from './run-command.js';

describe('runCommand', () => {
  it('collects stdout and stderr and the exit code, feeding stdin', async () => {
    const res = await runCommand('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: 'hello' });
    expect(res).toEqual({ code: 3, stdout: Buffer.from('hello'), stderr: Buffer.from('oops\n') });
  });

  it('runs in cwd with env', async () => {
    const res = await runCommand('sh', ['-c', 'echo "$PWD $X"'], { cwd: '/tmp', env: { X: 'y', PATH: process.env.PATH } });
    expect(res.stdout.toString()).toBe('/tmp y\n');
  });

  it('kills a program that outlives its timeout (code 128 + SIGKILL)', async () => {
    const started = Date.now();
    const res = await runCommand('sleep', ['30'], { timeoutMs: 100 });
    expect(res.code).toBe(137);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects with ENOENT for a program that is not there', async () => {
    await expect(runCommand('/nonexistent/program', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('finds a bare name on the PATH it is given, as execvp would, keeping the name as argv[0]', async () => {
    await using dir = tempDir('berth-run-command-');
    const [first, second] = [join(dir.path, 'a'), join(dir.path, 'b')];
    await mkdir(first);
    await mkdir(second);
    await writeFile(join(first, 'berth-tool'), '#!/bin/sh\necho first\n'); // not executable: passed over
    await writeFile(join(second, 'berth-tool'), '#!/bin/sh\necho second\n', { mode: 0o755 });
    const env = { PATH: `relative:${first}:${second}:${process.env.PATH}` };
    expect((await runCommand('berth-tool', [], { env })).stdout.toString()).toBe('second\n');
    expect((await runCommand('sh', ['-c', 'echo $0'], { env })).stdout.toString()).toBe('sh\n');
    // A program missing at first is looked up again once it is there.
    await expect(runCommand('berth-tool-later', [], { env })).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(first, 'berth-tool-later'), '#!/bin/sh\necho later\n');
    await chmod(join(first, 'berth-tool-later'), 0o755);
    expect((await runCommand('berth-tool-later', [], { env })).stdout.toString()).toBe('later\n');
  });

  it('numbers signals', () => {
    expect(signalNumber('KILL')).toBe(9);
    expect(signalNumber('SIGTERM')).toBe(15);
    expect(signalNumber('NOPE')).toBeUndefined();
  });
});
