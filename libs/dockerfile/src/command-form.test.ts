import { describe, expect, it } from 'vitest';
import { resolveCommandForm, resolveRunCommand } from './command-form.js';
import { parseDockerfile } from './instructions.js';
import type { RunInstruction } from './types.js';

const runs = (text: string) => parseDockerfile(`FROM a\n${text}`).stages[0]!.instructions as RunInstruction[];

describe('resolveCommandForm', () => {
  it('keeps exec form and wraps shell form with the shell', () => {
    expect(resolveCommandForm(['a', 'b'], ['/bin/sh', '-c'])).toEqual(['a', 'b']);
    expect(resolveCommandForm('echo $HOME', ['/bin/sh', '-c'])).toEqual(['/bin/sh', '-c', 'echo $HOME']);
    expect(resolveCommandForm('dir', ['cmd', '/S', '/C'])).toEqual(['cmd', '/S', '/C', 'dir']);
    expect(resolveCommandForm('x')).toEqual(['/bin/sh', '-c', 'x']);
  });
});

describe('resolveRunCommand', () => {
  it('runs a plain heredoc body with the shell', () => {
    const [run] = runs('RUN <<EOF\necho 1\necho 2\nEOF\n');
    expect(resolveRunCommand(run!, ['/bin/bash', '-c'])).toEqual({ args: ['/bin/bash', '-c', 'echo 1\necho 2\n'] });
  });

  it('runs a heredoc with a shebang as a script file', () => {
    const [run] = runs('RUN <<SCRIPT\n#!/usr/bin/env python3\nprint(1)\nSCRIPT\n');
    expect(resolveRunCommand(run!)).toEqual({
      args: ['/dev/pipes/SCRIPT'],
      script: { path: '/dev/pipes/SCRIPT', content: '#!/usr/bin/env python3\nprint(1)\n' },
    });
  });

  it('gives commands around heredocs to the shell whole', () => {
    const [run] = runs('RUN cat <<A > /a && cat <<-B > /b\nfirst\nA\n\tsecond\n\tB\n');
    expect(resolveRunCommand(run!)).toEqual({ args: ['/bin/sh', '-c', 'cat <<A > /a && cat <<-B > /b\nfirst\nA\nsecond\nB'] });
  });

  it('leaves exec form alone', () => {
    const [run] = runs('RUN ["echo", "<<EOF"]\n');
    expect(resolveRunCommand(run!)).toEqual({ args: ['echo', '<<EOF'] });
  });
});
