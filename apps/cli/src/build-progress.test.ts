import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { TtyBuildProgress } from './build-progress.js';
import { parseOutput } from './commands/build.js';
import { isGitContext } from './git-context.js';

/** A view on a fake terminal whose clock the test moves. */
function view() {
  const out = new PassThrough();
  let written = '';
  out.on('data', (c: Buffer) => (written += c.toString()));
  let now = 1_000_000;
  const progress = new TtyBuildProgress(out, { now: () => now, columns: 60, intervalMs: 0 });
  return { progress, written: () => written, tick: (ms: number) => (now += ms) };
}

describe('TtyBuildProgress', () => {
  it('shows every step with its state and time, and the output tail of running steps', () => {
    const { progress, tick } = view();
    for (const line of ['#1 [internal] load build definition from Dockerfile', '#1 transferring dockerfile: 30B done', '#1 DONE 0.0s', '', '#2 [2/3] COPY a /a', '#2 CACHED', '', '#3 [3/3] RUN make']) {
      progress.line(line);
    }
    tick(1500);
    for (let i = 1; i <= 8; i++) progress.line(`#3 ${(i / 10).toFixed(3)} line ${i}`);
    expect(progress.render()).toBe(
      [
        '[+] Building 1.5s (2/3)',
        ' => [internal] load build definition from Dockerfile    0.0s',
        ' => CACHED [2/3] COPY a /a                              0.0s',
        ' => [3/3] RUN make                                      1.5s',
        ' => => # line 3',
        ' => => # line 4',
        ' => => # line 5',
        ' => => # line 6',
        ' => => # line 7',
        ' => => # line 8',
        '',
      ].join('\n'),
    );
  });

  it('redraws in place and ends with the failed step output and the other messages', () => {
    const { progress, written } = view();
    progress.line('#1 [1/2] FROM busybox');
    progress.line('#1 DONE 0.0s');
    progress.line('#2 [2/2] RUN false');
    progress.line('#2 0.010 about to fail');
    progress.line('#2 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1');
    progress.line('[Warning] One or more build-args [X] were not consumed');
    progress.finish();
    const text = written();
    expect(text).toContain('[+] Building 0.0s (2/2) FINISHED\n');
    expect(text).toContain(' => ERROR [2/2] RUN false');
    expect(text.endsWith('------\n > [2/2] RUN false:\n#2 about to fail\n------\n[Warning] One or more build-args [X] were not consumed\n')).toBe(true);
  });

  it('moves the cursor back over the previous frame before drawing the next', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (c: Buffer) => (written += c.toString()));
    vi.useFakeTimers();
    try {
      const progress = new TtyBuildProgress(out, { now: () => 0, columns: 40, intervalMs: 5 });
      progress.line('#1 [1/1] FROM busybox');
      vi.advanceTimersByTime(5); // one redraw tick: the first frame is on screen
      progress.line('#1 DONE 0.0s');
      progress.finish();
      expect(written).toContain('\x1b[2F\x1b[J[+] Building 0.0s (1/1) FINISHED\n');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('parseOutput', () => {
  it('reads docker --output values', () => {
    expect(parseOutput('type=oci,dest=out.tar')).toEqual({ type: 'oci', dest: 'out.tar' });
    expect(parseOutput('type=tar,dest=-')).toEqual({ type: 'tar', dest: '-' });
    expect(parseOutput('./dir')).toEqual({ type: 'local', dest: './dir' });
    expect(() => parseOutput('type=docker,dest=x')).toThrow('ERROR: output type "docker" is not supported: expected oci, tar or local');
    expect(() => parseOutput('type=oci')).toThrow('ERROR: output type=oci needs a destination (dest=PATH)');
    expect(() => parseOutput('type=local,dest=-')).toThrow('ERROR: output type=local needs a directory, not "-"');
  });
});

describe('isGitContext', () => {
  it('recognises the git URLs docker builds from', () => {
    for (const yes of ['https://example.com/a/repo.git', 'https://example.com/a/repo.git#main:sub', 'git://host/repo', 'git@github.com:a/b.git', 'github.com/a/b', 'file:///srv/repo.git', 'ssh://host/repo']) {
      expect(isGitContext(yes), yes).toBe(true);
    }
    for (const no of ['.', '/srv/repo.git', 'https://example.com/context.tar.gz', '-']) expect(isGitContext(no), no).toBe(false);
  });
});
