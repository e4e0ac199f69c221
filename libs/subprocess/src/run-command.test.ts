import { describe, expect, it } from 'vitest';
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

  it('numbers signals', () => {
    expect(signalNumber('KILL')).toBe(9);
    expect(signalNumber('SIGTERM')).toBe(15);
    expect(signalNumber('NOPE')).toBeUndefined();
  });
});
