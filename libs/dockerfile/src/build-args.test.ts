import { describe, expect, it } from 'vitest';
import { automaticPlatformArgs, BuildArgs, predefinedArgs } from './build-args.js';
import { expandInstruction } from './expand.js';
import { parseDockerfile } from './instructions.js';
import type { ArgInstruction } from './types.js';

const platform = automaticPlatformArgs({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'amd64' });

function stageArgs(df: ReturnType<typeof parseDockerfile>, index = 0): ArgInstruction[] {
  return df.stages[index]!.instructions.filter((i): i is ArgInstruction => i.kind === 'ARG');
}

describe('predefinedArgs', () => {
  it('lists the proxy and automatic platform args', () => {
    expect(predefinedArgs()).toEqual([
      'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
      'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT',
    ]);
    expect(platform).toMatchObject({ TARGETPLATFORM: 'linux/arm64/v8', TARGETARCH: 'arm64', TARGETVARIANT: 'v8', BUILDPLATFORM: 'linux/amd64', BUILDVARIANT: '' });
  });
});

describe('BuildArgs', () => {
  const df = parseDockerfile(
    [
      'ARG VERSION=1.0',
      'ARG BASE=alpine:${VERSION}',
      'ARG NOVALUE',
      'FROM --platform=$BUILDPLATFORM $BASE AS one',
      'ARG VERSION',
      'ARG NOVALUE',
      'ARG LOCAL=local-$VERSION',
      'ARG TARGETARCH',
      'FROM scratch AS two',
      'ARG LOCAL',
    ].join('\n'),
  );

  it('resolves meta args in order for FROM lines, build args overriding defaults', () => {
    const args = new BuildArgs({ VERSION: '2.0' }, { automatic: platform });
    const env = args.resolveMeta(df.metaArgs);
    expect(env.get('BASE')).toBe('alpine:2.0');
    expect(env.has('NOVALUE')).toBe(false);
    const from = expandInstruction(df.stages[0]!.from, env).instruction;
    expect(from).toMatchObject({ image: 'alpine:2.0', platform: 'linux/amd64' });
  });

  it('makes meta args visible in a stage only when redeclared, with their global value', () => {
    const args = new BuildArgs({}, { automatic: platform });
    args.resolveMeta(df.metaArgs);
    const one = args.stageScope();
    let env = one.environment({ PATH: '/bin' });
    expect(env.has('VERSION')).toBe(false);
    for (const arg of stageArgs(df)) {
      one.declare(arg, env);
      env = one.environment({ PATH: '/bin' });
    }
    expect(Object.fromEntries(env)).toEqual({ VERSION: '1.0', LOCAL: 'local-1.0', TARGETARCH: 'arm64', PATH: '/bin' });
    expect(one.has('NOVALUE')).toBe(true);

    const two = args.stageScope();
    two.declare(stageArgs(df, 1)[0]!, {});
    expect(two.values().size).toBe(0);
  });

  it('lets ENV win over an ARG of the same name', () => {
    const args = new BuildArgs({ VERSION: 'cli' });
    args.resolveMeta(df.metaArgs);
    const scope = args.stageScope();
    scope.declare(stageArgs(df)[0]!, {});
    expect(scope.environment({ VERSION: 'from-env' }).get('VERSION')).toBe('from-env');
    expect(scope.values().get('VERSION')).toBe('cli');
  });

  it('reports build args that no ARG consumed, ignoring proxy args', () => {
    const args = new BuildArgs({ VERSION: '3', FOO: 'x', BAR: 'y', HTTP_PROXY: 'http://proxy:3128' });
    args.resolveMeta(df.metaArgs);
    expect(args.unused()).toEqual(['BAR', 'FOO']);
    expect(args.unusedWarning()).toBe('[Warning] One or more build-args [BAR FOO] were not consumed');
    expect(Object.fromEntries(args.proxyEnv())).toEqual({ HTTP_PROXY: 'http://proxy:3128' });
  });

  it('counts an ARG declared only in a built stage as consumed', () => {
    const args = new BuildArgs({ LOCAL: 'cli' });
    args.resolveMeta(df.metaArgs);
    expect(args.unused()).toEqual(['LOCAL']);
    const scope = args.stageScope();
    expect(scope.declare(stageArgs(df, 1)[0]!, {})).toEqual([{ name: 'LOCAL', value: 'cli' }]);
    expect(args.unusedWarning()).toBeUndefined();
  });

  it('reports a bad default at its line', () => {
    const bad = parseDockerfile('FROM a\nARG X="${Y:?Y is required}"\n');
    const args = new BuildArgs();
    expect(() => args.stageScope().declare(stageArgs(bad)[0]!, {})).toThrow('Dockerfile:2: failed to process ""${Y:?Y is required}"": Y: Y is required');
  });
});
