import { describe, expect, it } from 'vitest';
import { toolForker } from './tool-forker.js';

describe('toolForker', () => {
  it('runs a program with its stdin and answers its exit code, stdout and stderr', async () => {
    const r = await toolForker.run('/bin/sh', ['-c', 'cat; echo "to err" >&2; exit 3'], 'line one\nline\ttwo\n');
    expect(r).toEqual({ code: 3, stdout: 'line one\nline\ttwo\n', stderr: 'to err\n' });
  });

  it('reads large outputs on both streams and large inputs without blocking', async () => {
    const input = 'x'.repeat(300_000);
    const r = await toolForker.run('/bin/sh', ['-c', 'cat; head -c 200000 /dev/zero | tr "\\0" e >&2'], input);
    expect(r?.code).toBe(0);
    expect(r?.stdout).toBe(input);
    expect(r?.stderr).toBe('e'.repeat(200_000));
  });

  it('answers in order when asked several times at once, and a signal as 128 + its number', async () => {
    const answers = await Promise.all([1, 2, 3].map((n) => toolForker.run('/bin/sh', ['-c', `echo ${n}`])));
    expect(answers.map((a) => a?.stdout)).toEqual(['1\n', '2\n', '3\n']);
    expect((await toolForker.run('/bin/sh', ['-c', 'kill -TERM $$']))?.code).toBe(143);
  });

  it('says why a program cannot be run (exit 127)', async () => {
    const r = await toolForker.run('/nonexistent/tool', ['x']);
    expect(r?.code).toBe(127);
    expect(r?.stderr).toMatch(/\/nonexistent\/tool: No such file or directory/);
  });
});
