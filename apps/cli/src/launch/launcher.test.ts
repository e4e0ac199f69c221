import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshBundleSources, ROOT } from './test-bundle.js';


/**
 * The `berth` launcher (berth.cjs) on a copy of the repository (the bundle scripts/build-cli made,
 * and the sources it lists in dist/sources.json, timestamps kept): an edit never runs stale code,
 * whether it is to a file of main.pack.js (checked before anything runs) or of a command's pack
 * (checked when the pack is about to be loaded: the command then runs from the sources).
 */
let copy: TempDir;
beforeAll(() => {
  copy = tempDir('berth-launcher-test-');
  // The copy is of the bundle as it is: made from the sources as they are.
  const sources = freshBundleSources();
  const files = new Set([...sources, 'berth.cjs', 'apps/cli/src/main.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json']);
  for (const f of files) {
    mkdirSync(dirname(join(copy.path, f)), { recursive: true });
    cpSync(join(ROOT, f), join(copy.path, f), { preserveTimestamps: true });
  }
  cpSync(join(ROOT, 'apps/cli/dist'), join(copy.path, 'apps/cli/dist'), { recursive: true, preserveTimestamps: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy.path, 'node_modules'));
  mkdirSync(join(copy.path, 'config'));
});
afterAll(() => copy?.remove());

function berth(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_CONFIG: join(copy.path, 'config'), BERTH_CLI_CODE_CACHE: join(copy.path, 'cache') };
  delete env.BERTH_HOST;
  delete env.BERTH_NO_BUNDLE;
  const r = spawnSync(process.execPath, ['--', join(copy.path, 'berth.cjs'), ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Replaces `from` with `to` in the copy's `file` (its modification time becomes now, after the bundle's). */
function edit(file: string, from: string, to: string): void {
  const path = join(copy.path, file);
  const text = readFileSync(path, 'utf8');
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

describe('the berth launcher', () => {
  it('runs the bundle while its sources are as they were, and the sources once one has changed', () => {
    expect(berth(['context', 'ls'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Current BERTH_HOST based configuration') });
    // The bundle ran: it stored the code caches of main.pack.js and the context pack (tsx stores none).
    expect(readdirSync(join(copy.path, 'cache')).filter((f) => f.endsWith('.bin'))).toHaveLength(2);
    expect(berth(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Berth version \d/) });

    // A file of the `context` command's pack: `--version` (main only) still runs the bundle, and
    // `context ls` runs from the sources once it reaches that pack.
    edit('apps/cli/src/commands/context.ts', "'Current BERTH_HOST based configuration'", "'Edited in the pack'");
    expect(berth(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Berth version \d/) });
    const ls = berth(['context', 'ls']);
    expect(ls).toMatchObject({ code: 0, stdout: expect.stringContaining('Edited in the pack') });
    expect(ls.stdout).not.toContain('Current BERTH_HOST');

    // A file of main.pack.js: every command runs from the sources.
    edit('apps/cli/src/version.ts', "return pkg.version ?? 'unknown';", "return 'edited-in-main';");
    expect(berth(['--version'])).toMatchObject({ code: 0, stdout: 'Berth version edited-in-main\n' });
  }, 120_000);
});
