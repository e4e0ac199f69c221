/**
 * `berth build` end to end: the CLI tars the context (honouring .dockerignore), the gateway
 * forwards the Builder service to the agent, the agent builds with its own stores, and the image
 * runs with `berth run`. One platform for the file, stopped (and cleaned) even when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '@berth/testing';
import { writeFiles } from './test-harness.js';

let p: TestPlatform;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-build-cli-'));
  p = await startTestPlatform();
  const boot = await p.berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('berth build', () => {
  it('builds a directory context with tags, build args, labels and an iidfile, then runs it', async () => {
    const dir = join(work, 'app');
    await writeFiles(dir, {
      Dockerfile: 'FROM busybox\nARG GREETING=hi\nCOPY . /src/\nRUN echo "$GREETING" > /greeting\nCMD ["sh", "-c", "cat /greeting; ls -A /src"]\n',
      '.dockerignore': 'ignored.txt\n',
      'kept.txt': 'kept\n',
      'ignored.txt': 'no\n',
    });
    const iidfile = join(work, 'iid');
    const res = await p.berth(['build', '-t', 'cli-app:1', '-t', 'cli-app:latest', '--build-arg', 'GREETING=hello', '--label', 'team=build', '--iidfile', iidfile, dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^#\d+ \[2\/3\] COPY \. \/src\/$/m);
    expect(res.stderr).toMatch(/^#\d+ naming to docker\.io\/library\/cli-app:1 done$/m);
    const id = readFileSync(iidfile, 'utf8');
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect((await p.berth(['inspect', '--format', '{{.Id}} {{.Config.Labels.team}}', 'cli-app:latest'])).stdout).toBe(`${id} build\n`);
    const run = await p.berth(['run', '--rm', 'cli-app:1']);
    expect(run).toMatchObject({ code: 0, stdout: 'hello\n.dockerignore\nDockerfile\nkept.txt\n' });

    // Rebuilt with -q: every step cached, only the id printed.
    const quiet = await p.berth(['build', '-q', '--build-arg', 'GREETING=hello', '--label', 'team=build', dir]);
    expect(quiet).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
  });

  it('reads the Dockerfile from stdin with -f - and a context tar from stdin with -', async () => {
    const dir = join(work, 'stdin');
    await writeFiles(dir, { 'data.txt': 'from the context\n' });
    const fromStdin = await p.berth(['build', '-q', '-f', '-', dir], { input: 'FROM busybox\nCOPY data.txt /\nCMD ["cat", "/data.txt"]\n' });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect((await p.berth(['run', '--rm', fromStdin.stdout.trim()])).stdout).toBe('from the context\n');

    await writeFiles(dir, { Dockerfile: 'FROM busybox\nCOPY data.txt /copied.txt\nCMD ["cat", "/copied.txt"]\n' });
    const tarball = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
    const fromTar = await p.berth(['build', '-q', '-t', 'from-tar', '-'], { input: tarball });
    expect(fromTar.code, fromTar.stderr).toBe(0);
    expect((await p.berth(['run', '--rm', 'from-tar'])).stdout).toBe('from the context\n');
  });

  it('fails with the step, its line and its output', async () => {
    const dir = join(work, 'failing');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nRUN echo about to fail && false\n' });
    const res = await p.berth(['build', dir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^#\d+ \d+\.\d{3} about to fail$/m);
    expect(res.stderr.trimEnd().split('\n').at(-1)).toBe(
      'ERROR: failed to solve: Dockerfile:2: RUN echo about to fail && false: process "/bin/sh -c echo about to fail && false" did not complete successfully: exit code: 1',
    );
  });

  it('prunes the build cache', async () => {
    const res = await p.berth(['builder', 'prune', '-f']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Deleted build cache objects: [1-9]\d*\nTotal reclaimed space: .+\n$/);
    const again = await p.berth(['builder', 'prune', '-f']);
    expect(again.stdout).toBe('Deleted build cache objects: 0\nTotal reclaimed space: 0B\n');
  });
});
