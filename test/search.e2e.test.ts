/**
 * `berth search` against the platform's registry (and a registry named in the term): docker's
 * table, --limit, --filter, --format and errors. One platform for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
let registry: string;

beforeAll(async () => {
  p = await startTestPlatform();
  registry = `127.0.0.1:${p.settings.registryPort}`;
  expect((await p.berth(['image', 'bootstrap', 'busybox'])).code).toBe(0);
  for (const name of ['team/web-frontend', 'team/web-backend', 'tools/debug']) {
    expect((await p.berth(['tag', 'busybox', `${registry}/${name}:1`])).code).toBe(0);
    const push = await p.berth(['push', '-q', `${registry}/${name}:1`]);
    expect(push.code, push.stderr).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  await p?.stop();
});

describe('images --digests', () => {
  it('shows the digest a push recorded, as docker does', async () => {
    const r = await p.berth(['images', '--digests', `${registry}/tools/debug`]);
    expect(r.stdout.split('\n')[0]).toMatch(/^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$/);
    expect(r.stdout.split('\n')[1]).toMatch(new RegExp(`^${registry.replace(/\./g, '\\.')}/tools/debug +1 +sha256:[0-9a-f]{64} +[0-9a-f]{12} `));
    const digests = JSON.parse((await p.berth(['image', 'inspect', '-f', '{{json .RepoDigests}}', `${registry}/tools/debug:1`])).stdout) as string[];
    expect(digests).toContainEqual(expect.stringMatching(new RegExp(`^${registry.replace(/\./g, '\\.')}/tools/debug@sha256:[0-9a-f]{64}$`)));
  });
});

describe('berth search', () => {
  it("lists the matching repositories of the platform's registry in docker's table", async () => {
    const r = await p.berth(['search', 'WEB']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME +DESCRIPTION +STARS +OFFICIAL$/);
    expect(lines.slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual([`${registry}/team/web-backend`, `${registry}/team/web-frontend`]);
    expect(lines[1]).toMatch(new RegExp(`^${registry.replace(/\./g, '\\.')}/team/web-backend +0 +$`));
  });

  it('honours --limit, --format, --filter and a registry named in the term', async () => {
    expect((await p.berth(['search', '--limit', '1', '--format', '{{.Name}}', 'web'])).stdout).toBe(`${registry}/team/web-backend\n`);
    expect((await p.berth(['search', '--format', '{{.Name}} {{.StarCount}} [{{.IsOfficial}}]', 'debug'])).stdout).toBe(`${registry}/tools/debug 0 []\n`);
    expect((await p.berth(['search', '--filter', 'is-official=true', '--format', '{{.Name}}', 'web'])).stdout).toBe('');
    expect((await p.berth(['search', '--filter', 'stars=0', '--format', '{{.Name}}', 'tools'])).stdout).toBe(`${registry}/tools/debug\n`);
    expect((await p.berth(['search', '--format', '{{.Name}}', `${registry}/debug`])).stdout).toBe(`${registry}/tools/debug\n`);
    expect((await p.berth(['search', 'nothing-like-this'])).stdout).toMatch(/^NAME +DESCRIPTION +STARS +OFFICIAL\n$/);
  });

  it("refuses bad limits and filters with docker's messages", async () => {
    expect(await p.berth(['search', '--limit', '101', 'web'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: Limit 101 is outside the range of [1, 100]\n',
    });
    expect(await p.berth(['search', '--filter', 'bogus=1', 'web'])).toEqual({ code: 1, stdout: '', stderr: "Error response from daemon: invalid filter 'bogus'\n" });
    expect((await p.berth(['search', '--filter', 'stars=many', 'web'])).stderr).toBe("Error response from daemon: invalid filter 'stars=many'\n");
  });
});
