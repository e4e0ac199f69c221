import { loadProject } from '@berth/compose';
import { readTar } from '@berth/layers';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { injectedFiles, injectionTar } from './injected-files.js';

const yaml = `
services:
  app:
    image: busybox
    secrets: [token, {source: token, target: renamed, uid: "1000", gid: "1001", mode: 0400}, {source: onfile}]
    configs: [inline, {source: fromenv, target: /etc/app/env.conf, mode: 0640}, onfile]
secrets:
  token: {environment: TOKEN}
  onfile: {file: ./token.txt}
configs:
  inline: {content: "a=1\\n"}
  fromenv: {environment: CONF}
  onfile: {file: ./conf.txt}
`;

function load(environment: Record<string, string>) {
  return loadProject({ cwd: '/srv/app', environment, configFiles: ['-'], stdin: yaml, projectName: 'p' });
}

describe('injectedFiles', () => {
  it('takes environment and content sources (not files), with compose v2 targets, owners and modes', () => {
    const project = load({ TOKEN: 's3cret', CONF: 'b=2' });
    const files = injectedFiles(project, project.services.app!);
    expect(files.map((f) => [f.kind, f.target, f.content.toString(), f.uid, f.gid, f.mode.toString(8), f.keepOwners])).toEqual([
      ['secret', '/run/secrets/token', 's3cret', 0, 0, '444', false],
      ['secret', '/run/secrets/renamed', 's3cret', 1000, 1001, '400', true],
      ['config', '/inline', 'a=1\n', 0, 0, '444', false],
      ['config', '/etc/app/env.conf', 'b=2', 0, 0, '640', false],
    ]);
  });

  it('names the secret and the variable, never a value, when the variable is not set', () => {
    const project = load({ CONF: 'b=2' });
    expect(() => injectedFiles(project, project.services.app!)).toThrow('secret "token": environment variable "TOKEN" is not set');
  });

  it('packs the files in one tar relative to the root, with their modes and owners', async () => {
    const project = load({ TOKEN: 's3cret', CONF: 'b=2' });
    const tar = injectionTar(injectedFiles(project, project.services.app!));
    const entries: Array<[string, string, number, number]> = [];
    for await (const e of readTar(Readable.from([tar]))) {
      let body = '';
      for await (const chunk of e.body) body += chunk;
      entries.push([e.header.name, body, e.header.mode, e.header.uid]);
    }
    expect(entries).toEqual([
      ['run/secrets/token', 's3cret', 0o444, 0],
      ['run/secrets/renamed', 's3cret', 0o400, 1000],
      ['inline', 'a=1\n', 0o444, 0],
      ['etc/app/env.conf', 'b=2', 0o640, 0],
    ]);
  });
});
