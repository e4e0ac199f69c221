import { describe, expect, it } from 'vitest';
import { checkRestartPolicy, mergeConfig, mergeEnv } from './config-merge.js';

describe('mergeConfig', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/bin', 'A=1'], User: 'app', WorkingDir: '/srv', Labels: { a: '1' } };

  it('takes the image config and applies the options over it, as Docker does', () => {
    const config = mergeConfig({ image: 'busybox', cmd: ['run'], env: ['A=2', 'B=3'], labels: { b: '2' } }, image, 'host1');
    expect(config).toMatchObject({
      Hostname: 'host1',
      Entrypoint: ['/entry'],
      Cmd: ['run'],
      Env: ['PATH=/bin', 'A=2', 'B=3'],
      User: 'app',
      WorkingDir: '/srv',
      Labels: { a: '1', b: '2' },
      Image: 'busybox',
    });
  });

  it('drops the image Cmd when the entrypoint is overridden, and resets it with [""]', () => {
    expect(mergeConfig({ image: 'x', entrypoint: ['/other'] }, image, 'h')).toMatchObject({ Entrypoint: ['/other'], Cmd: null });
    expect(mergeConfig({ image: 'x', entrypoint: [''], cmd: ['sh'] }, image, 'h')).toMatchObject({ Entrypoint: null, Cmd: ['sh'] });
  });
});

describe('mergeEnv', () => {
  it('replaces by key and removes a bare KEY', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'A', 'C=4'])).toEqual(['B=3', 'C=4']);
  });
});

describe('checkRestartPolicy', () => {
  it("refuses what Docker refuses, with Docker's messages", () => {
    expect(checkRestartPolicy({ restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } })).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    expect(checkRestartPolicy({})).toEqual({ Name: 'no', MaximumRetryCount: 0 });
    expect(() => checkRestartPolicy({ autoRemove: true, restartPolicy: { name: 'always' } })).toThrow(
      "can't create 'AutoRemove' container with restart policy",
    );
    expect(() => checkRestartPolicy({ restartPolicy: { name: 'sometimes' as 'always' } })).toThrow(
      "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
    );
    expect(() => checkRestartPolicy({ restartPolicy: { name: 'always', maximumRetryCount: 1 } })).toThrow(
      "invalid restart policy: maximum retry count can only be used with 'on-failure'",
    );
  });
});
