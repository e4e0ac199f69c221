import { describe, expect, it } from 'vitest';
import { toContainerSpec } from './container-create.js';

describe('toContainerSpec', () => {
  it('maps what `docker run -p -v --network-alias` sends to the run flags the agent checks', () => {
    const { spec, extraNetworks } = toContainerSpec(
      {
        Image: 'busybox',
        Cmd: ['sleep', '1'],
        Entrypoint: [''],
        ExposedPorts: { '80/tcp': {}, '53/udp': {} },
        Volumes: { '/anon': {} },
        Labels: { a: 'b' },
        Healthcheck: { Test: ['CMD', 'true'], Interval: 2_000_000_000, Retries: 2 },
        HostConfig: {
          PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '' }], '81/tcp': [{ HostPort: '0' }] },
          Binds: ['data:/data:ro'],
          NetworkMode: 'appnet',
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
          PidsLimit: -1,
          Memory: 1 << 20,
          CapDrop: ['NET_RAW'],
        },
        NetworkingConfig: { EndpointsConfig: { appnet: { Aliases: ['db'] }, other: { Aliases: ['x'] } } },
      },
      { name: 'web', platform: '' },
    );
    expect(spec.publish).toEqual(['127.0.0.1:8080:80/tcp', '53/udp', '81/tcp']);
    expect(spec.expose.sort()).toEqual(['53/udp', '80/tcp']);
    expect(spec.binds).toEqual(['data:/data:ro', '/anon']);
    expect(spec.entrypoint).toEqual({ args: [] });
    expect(spec.networkMode).toBe('appnet');
    expect(spec.networkAliases).toEqual(['db']);
    expect(extraNetworks).toEqual([{ network: 'other', endpoint: { Aliases: ['x'] } }]);
    expect(spec.restartPolicy).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    expect(spec.resources?.pidsLimit).toBe(0);
    expect(spec.resources?.memory).toBe(1 << 20);
    expect(spec.security?.capDrop).toEqual(['NET_RAW']);
    expect(spec.healthcheck).toMatchObject({ test: ['CMD', 'true'], intervalNs: 2_000_000_000, retries: 2 });
    expect(spec.name).toBe('web');
  });

  it('leaves the image entrypoint and healthcheck alone when absent, and "default" networking as bridge', () => {
    const { spec } = toContainerSpec({ Image: 'busybox', HostConfig: { NetworkMode: 'default' } }, { name: '', platform: '' });
    expect([spec.entrypoint, spec.healthcheck, spec.networkMode, spec.cmd]).toEqual([undefined, undefined, '', []]);
  });

  it("takes HostConfig.ConsoleSize, [height, width], as docker's client sends it with -t, and refuses another shape", () => {
    expect(toContainerSpec({ Image: 'busybox', Tty: true, HostConfig: { ConsoleSize: [30, 100] } }, { name: '', platform: '' }).spec.consoleSize).toEqual({ rows: 30, cols: 100 });
    expect(toContainerSpec({ Image: 'busybox', HostConfig: { ConsoleSize: [0, 0] } }, { name: '', platform: '' }).spec.consoleSize).toBeUndefined();
    expect(() => toContainerSpec({ Image: 'busybox', HostConfig: { ConsoleSize: [30] as unknown as [number, number] } }, { name: '', platform: '' })).toThrow(
      'Invalid create request: "HostConfig.ConsoleSize" must be [height, width], two integers from 0 to 65535',
    );
  });

  it('refuses a request without an image', () => {
    expect(() => toContainerSpec({}, { name: '', platform: '' })).toThrow('Invalid create request: "Image" is required');
  });
});
