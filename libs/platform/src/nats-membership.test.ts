import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from 'nats';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { checkMembership, isNatsMember, saveMemberNatsServer, writeMemberNatsConfig, type NatsMembership } from './nats-membership.js';
import { secretsOf } from './platform-secrets.js';

const userKey = () => nkeys.createUser().getPublicKey();

function membership(): NatsMembership {
  return {
    firstHostId: 'host-1',
    servers: [
      { hostId: 'host-1', address: '10.9.0.1', port: 4222, routePort: 6222 },
      { hostId: 'host-2', address: '10.9.0.2', port: 4222, routePort: 6222 },
    ],
    users: [
      { comment: 'api', nkey: userKey(), identity: { role: 'gateway' } },
      { comment: 'runtime-agent of host host-2', nkey: userKey(), identity: { role: 'agent', host: 'host-2' } },
    ],
  };
}

describe('a NATS cluster\'s membership', () => {
  it('passes a membership as JSON unchanged, and names the field that is wrong', () => {
    const m = membership();
    expect(checkMembership(JSON.parse(JSON.stringify(m)))).toEqual(m);
    expect(() => checkMembership({ ...m, servers: [] })).toThrow('Invalid NATS cluster membership: servers []: expected a list of nats-servers');
    expect(() => checkMembership({ ...m, servers: [{ ...m.servers[0], address: '::1' }] })).toThrow('servers[0].address "::1": expected an IPv4 address');
    expect(() => checkMembership({ ...m, servers: [{ ...m.servers[0], routePort: 0 }] })).toThrow('servers[0].routePort 0: expected a port');
    expect(() => checkMembership({ ...m, users: [{ ...m.users[0], nkey: 'SUxyz' }] })).toThrow('users[0].nkey "SUxyz": expected a public NATS user key');
    // The join token's role is not a member's: only the first host's server answers joins.
    expect(() => checkMembership({ ...m, users: [{ ...m.users[0], identity: { role: 'join' } }] })).toThrow('users[0].identity.role "join": expected gateway, agent, registry, builder');
    expect(() => checkMembership({ ...m, users: [{ ...m.users[1], identity: { role: 'agent', host: 'a b' } }] })).toThrow('users[0].identity.host "a b": expected a host id');
    expect(() => checkMembership({ ...m, firstHostId: undefined })).toThrow('firstHostId missing: expected a host id');
  });

  it('writes a joined member\'s nats-server.conf: its own server, routes to every server, the users; rewritten only on change', async () => {
    await using dir = tempDir('berth-membership-');
    expect(isNatsMember(dir.path)).toBe(false);
    saveMemberNatsServer(dir.path, { hostId: 'host-3', address: '10.9.0.3', port: 4300, routePort: 6300, storeDir: join(dir.path, 'nats') }, { username: 'berth-route', password: 'p/w' });
    expect(isNatsMember(dir.path)).toBe(true);
    expect(statSync(join(dir.path, 'secrets', 'nats-routes.json')).mode & 0o777).toBe(0o600);
    const m = membership();
    expect(writeMemberNatsConfig(dir.path, m)).toBe(false); // a first write is no change of a running server's
    const config = readFileSync(secretsOf(dir.path).natsConfig, 'utf8');
    expect(config).toContain('server_name: "host-3"');
    expect(config).toContain('listen: "10.9.0.3:4300"');
    expect(config).toContain(`store_dir: ${JSON.stringify(join(dir.path, 'nats'))}`);
    expect(config).toContain('routes: ["nats-route://berth-route:p%2Fw@10.9.0.3:6300","nats-route://berth-route:p%2Fw@10.9.0.1:6222","nats-route://berth-route:p%2Fw@10.9.0.2:6222"]');
    expect(config).toContain(`# runtime-agent of host host-2\n    { nkey: "${m.users[1]!.nkey}"`);
    expect(config).toContain('$KV.hosts.host-2');
    expect(writeMemberNatsConfig(dir.path, m)).toBe(false);
    // A host removed: its keys and route are gone, and the server must reload.
    expect(writeMemberNatsConfig(dir.path, { ...m, servers: m.servers.slice(0, 1), users: m.users.slice(0, 1) })).toBe(true);
    const after = readFileSync(secretsOf(dir.path).natsConfig, 'utf8');
    expect(after).not.toContain(m.users[1]!.nkey);
    expect(after).not.toContain('10.9.0.2');
  });
});
