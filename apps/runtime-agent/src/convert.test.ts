import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '@berth/errors';
import { ContainerSpec } from '@berth/proto';
import { describe, expect, it } from 'vitest';
import { createOptionsFromSpec } from './convert.js';

describe('createOptionsFromSpec', () => {
  const spec = (nanoCpus: number) => ContainerSpec.fromPartial({ image: 'busybox', resources: { nanoCpus } });
  const ncpu = availableParallelism();

  it('refuses CPUs below zero or beyond this host, with the daemon\'s message', () => {
    const message = `Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`;
    for (const nanoCpus of [-1, -1e9, ncpu * 1e9 + 1]) {
      expect(() => createOptionsFromSpec(spec(nanoCpus))).toThrow(InvalidArgumentError);
      expect(() => createOptionsFromSpec(spec(nanoCpus))).toThrow(message);
    }
  });

  it('refuses memory below 6 MB and a relative working directory, as the daemon does', () => {
    expect(() => createOptionsFromSpec(ContainerSpec.fromPartial({ image: 'busybox', resources: { memory: 6 * 1024 * 1024 - 1 } }))).toThrow(
      'Minimum memory limit allowed is 6MB',
    );
    expect(createOptionsFromSpec(ContainerSpec.fromPartial({ image: 'busybox', resources: { memory: 6 * 1024 * 1024 } })).resources?.memory).toBe(6 * 1024 * 1024);
    expect(() => createOptionsFromSpec(ContainerSpec.fromPartial({ image: 'busybox', workingDir: 'app' }))).toThrow(
      "the working directory 'app' is invalid, it needs to be an absolute path",
    );
    expect(createOptionsFromSpec(ContainerSpec.fromPartial({ image: 'busybox', workingDir: '/app' })).workingDir).toBe('/app');
  });

  it('accepts no limit and any limit up to every CPU of the host', () => {
    expect(createOptionsFromSpec(spec(0)).resources?.nanoCpus).toBeUndefined();
    expect(createOptionsFromSpec(spec(10_000_000)).resources?.nanoCpus).toBe(10_000_000);
    expect(createOptionsFromSpec(spec(ncpu * 1e9)).resources?.nanoCpus).toBe(ncpu * 1e9);
  });
});
