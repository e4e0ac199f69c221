import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { platformRegistryTls, readPlatformRegistry } from './registry-tls.js';
import type { PlatformSettings } from './platform-settings.js';

const base: PlatformSettings = {
  dataRoot: '/d/first',
  runRoot: '/r',
  hostId: 'h1',
  natsPort: 4222,
  registryPort: 5000,
  apiAddress: 'unix:/r/api.sock',
  registryAnonymousPush: false,
  agentAddress: 'unix:/r/agent.sock',
  runtime: 'runc',
};

describe("the cluster registry's TLS", () => {
  it('is none on loopback, served by a first host with an address, trusted by the hosts that joined it', () => {
    expect(platformRegistryTls(base)).toEqual({});
    expect(platformRegistryTls({ ...base, address: '10.0.0.1', agentTlsPort: 7001, builderTlsPort: 7002 })).toEqual({
      serve: { cert: '/d/first/secrets/tls/host.pem', key: '/d/first/secrets/tls/host-key.pem' },
      ca: '/d/first/secrets/tls/ca.pem',
    });
    // Joined with a token: the CA it got with its join, in its own secrets.
    expect(platformRegistryTls({ ...base, dataRoot: '/d/second', address: '10.0.0.2', joinedNats: ['nats://10.0.0.1:4222'], firstHostAddress: '10.0.0.1' })).toEqual({
      ca: '/d/second/secrets/tls/ca.pem',
    });
    // Joined on this machine (`platform join --cluster`): the first host's CA.
    expect(platformRegistryTls({ ...base, dataRoot: '/d/third', cluster: '/d/first', firstHostAddress: '10.0.0.1' })).toEqual({ ca: '/d/first/secrets/tls/ca.pem' });
    // The first host without an address: its registry is on loopback.
    expect(platformRegistryTls({ ...base, dataRoot: '/d/third', cluster: '/d/first' })).toEqual({});
  });

  it("reads a service's registry flags, saying which file it cannot read", async () => {
    await using dir = tempDir('berth-registry-flags-');
    writeFileSync(join(dir.path, 'auth.json'), JSON.stringify({ username: 'berth', password: 'pw' }));
    writeFileSync(join(dir.path, 'ca.pem'), 'PEM');
    expect(readPlatformRegistry({ address: '10.0.0.1:5000' })).toBeUndefined();
    expect(readPlatformRegistry({ address: '10.0.0.1:5000', auth: join(dir.path, 'auth.json'), ca: join(dir.path, 'ca.pem') })).toEqual({
      address: '10.0.0.1:5000',
      credentials: { username: 'berth', password: 'pw' },
      ca: 'PEM',
    });
    expect(() => readPlatformRegistry({ address: '10.0.0.1:5000', auth: join(dir.path, 'auth.json'), ca: '/nonexistent/ca.pem' })).toThrow(
      'Cannot read --platform-registry-ca "/nonexistent/ca.pem": ENOENT',
    );
  });
});
