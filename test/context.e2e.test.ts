/**
 * `berth context` against a real platform: contexts stored under $BERTH_CONFIG (docker's layout),
 * `use` switching the gateway, and the precedence -H > BERTH_HOST > BERTH_CONTEXT > current
 * context, with docker's messages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { platformForFile, tempDirForFile } from '@berth/testing';

const p = platformForFile({ busybox: false });
const config = tempDirForFile('berth-contexts-');
let host: string;

beforeAll(() => void (host = p.settings.apiAddress));

/** The CLI with its own config dir and, unless given, no BERTH_HOST. */
const berth = (args: string[], env: Record<string, string> = {}) => p.berth(args, { env: { BERTH_CONFIG: config.path, BERTH_HOST: '', ...env } });
const nowhere = 'unix:/nonexistent/berth.sock';

describe('berth context', () => {
  it("creates, lists, uses, shows and inspects contexts as docker does", async () => {
    expect(await berth(['context', 'create', 'test', '--description', 'the test platform', '--berth', `host=${host}`])).toEqual({
      code: 0,
      stdout: 'test\n',
      stderr: 'Successfully created context "test"\n',
    });
    const meta = join(config.path, 'contexts', 'meta', createHash('sha256').update('test').digest('hex'), 'meta.json');
    expect(JSON.parse(readFileSync(meta, 'utf8'))).toEqual({
      Name: 'test',
      Metadata: { Description: 'the test platform' },
      Endpoints: { berth: { Host: host, SkipTLSVerify: false } },
    });
    const list = await berth(['context', 'ls']);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME +DESCRIPTION +BERTH ENDPOINT +ERROR$/);
    expect(list.stdout).toMatch(/\ndefault \* +Current BERTH_HOST based configuration +unix:\/run\/berth\/api\.sock +\n/);
    expect(list.stdout).toMatch(new RegExp(`\\ntest +the test platform +${host.replace(/[./]/g, '\\$&')} +\\n`));
    expect(await berth(['context', 'use', 'test'])).toEqual({ code: 0, stdout: 'test\n', stderr: 'Current context is now "test"\n' });
    expect(JSON.parse(readFileSync(join(config.path, 'config.json'), 'utf8'))).toEqual({ currentContext: 'test' });
    expect((await berth(['context', 'show'])).stdout).toBe('test\n');
    expect((await berth(['context', 'ls', '-q'])).stdout).toBe('default\ntest\n');
    // every command now reaches the platform through the context
    expect(await berth(['info', '--format', '{{.Containers}}'])).toMatchObject({ code: 0, stdout: '0\n' });
    expect((await berth(['info'])).stdout).toContain(' Context:    test\n');
    const inspect = JSON.parse((await berth(['context', 'inspect'])).stdout) as Array<Record<string, unknown>>;
    expect(inspect[0]).toMatchObject({ Name: 'test', Endpoints: { berth: { Host: host } }, TLSMaterial: {}, Storage: { MetadataPath: join(meta, '..') } });
  });

  it('lets -H, BERTH_HOST and BERTH_CONTEXT override the current context, in that order', async () => {
    await berth(['context', 'use', 'test']);
    await berth(['context', 'create', 'broken', '--berth', `host=${nowhere}`]);
    // BERTH_HOST beats the current context
    const env = await berth(['info', '--format', '{{.Containers}}'], { BERTH_HOST: nowhere });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain(`Cannot connect to the Berth platform at ${nowhere}`);
    // -H beats BERTH_HOST
    expect((await berth(['-H', host, 'info', '--format', '{{.Containers}}'], { BERTH_HOST: nowhere })).code).toBe(0);
    // BERTH_CONTEXT beats the current context, and BERTH_HOST beats BERTH_CONTEXT
    expect((await berth(['info', '--format', '{{.Containers}}'], { BERTH_CONTEXT: 'broken' })).code).toBe(1);
    expect((await berth(['info', '--format', '{{.Containers}}'], { BERTH_CONTEXT: 'broken', BERTH_HOST: host })).code).toBe(0);
    // --context names one explicitly, and conflicts with -H
    expect((await berth(['--context', 'broken', 'info', '--format', '{{.Containers}}'])).code).toBe(1);
    expect(await berth(['-c', 'test', '-H', host, 'info'])).toEqual({ code: 1, stdout: '', stderr: 'conflicting options: cannot specify both --host and --context\n' });
    expect(await berth(['-c', 'nope', 'ps'])).toEqual({ code: 1, stdout: '', stderr: 'context "nope" does not exist\n' });
    const warned = await berth(['context', 'use', 'test'], { BERTH_HOST: host });
    expect(warned.stderr).toBe(
      'Current context is now "test"\nWarning: BERTH_HOST environment variable overrides the active context. To use "test", either set the global --context flag, or unset BERTH_HOST environment variable.\n',
    );
  });

  it("refuses what docker refuses, and removes contexts", async () => {
    expect(await berth(['context', 'create', 'default'])).toEqual({ code: 1, stdout: '', stderr: '"default" is a reserved context name\n' });
    expect((await berth(['context', 'create', 'bad/name', '--berth', 'host=x'])).stderr).toBe(
      'context name "bad/name" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"\n',
    );
    expect(await berth(['context', 'create', 'test', '--berth', `host=${host}`])).toEqual({ code: 1, stdout: '', stderr: 'context "test" already exists\n' });
    expect(await berth(['context', 'use', 'nope'])).toEqual({ code: 1, stdout: '', stderr: 'context "nope" does not exist\n' });
    await berth(['context', 'use', 'test']);
    expect(await berth(['context', 'rm', 'test', 'default'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'context "test" is in use, set -f flag to force remove\ncontext "default" cannot be removed\n',
    });
    // a copy of the current context (no --berth), then removal
    expect((await berth(['context', 'create', 'copy'])).code).toBe(0);
    expect((await berth(['-c', 'copy', 'info', '--format', '{{.Containers}}'])).code).toBe(0);
    expect(await berth(['context', 'rm', '-f', 'test', 'copy', 'broken'])).toEqual({ code: 0, stdout: 'test\ncopy\nbroken\n', stderr: '' });
    expect((await berth(['context', 'show'])).stdout).toBe('default\n');
    expect(existsSync(join(config.path, 'contexts', 'meta', createHash('sha256').update('test').digest('hex')))).toBe(false);
  });
});
