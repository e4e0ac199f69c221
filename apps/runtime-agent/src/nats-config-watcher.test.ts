import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from 'nats';
import { describe, expect, it, onTestFinished } from 'vitest';
import { NATS_MEMBERS_BUCKET, NatsMembersBucket, kvStream } from '@berth/events';
import { silentLogger } from '@berth/log';
import { saveMemberNatsServer, secretsOf, type NatsMembership } from '@berth/platform';
import { startNatsFixture, tempDir, until } from '@berth/testing';
import { watchNatsConfig } from './nats-config-watcher.js';

const userKey = () => nkeys.createUser().getPublicKey();

describe('the agent keeping its nats-server\'s membership', () => {
  it('rewrites nats-server.conf from KV nats-members and reloads the server only when it changed', async () => {
    await using nats = await startNatsFixture();
    await using dir = tempDir('berth-nats-config-');
    saveMemberNatsServer(dir.path, { hostId: 'host-2', address: '10.9.0.2', port: 4222, routePort: 6222, storeDir: join(dir.path, 'nats') }, { username: 'r', password: 'p' });
    // A stand-in for nats-server: counts the SIGHUPs it gets; its pid and command line where `platform up` keeps them.
    const script = "process.on('SIGHUP', () => console.log('reload')); console.log('ready'); setInterval(() => {}, 1000)";
    const server = spawn(process.execPath, ['-e', script]);
    onTestFinished(() => void server.kill('SIGKILL'));
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(async () => out, (o) => o.includes('ready'));
    const runDir = join(dir.path, 'run', 'platform');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'nats.pid'), `${server.pid}\n`);
    writeFileSync(join(runDir, 'nats.cmdline'), [process.execPath, '-e', script].join('\0'));

    const watcher = watchNatsConfig(nats.nc, { configFile: secretsOf(dir.path).natsConfig, pidFile: join(runDir, 'nats.pid'), log: silentLogger });
    onTestFinished(() => watcher.stop());
    const bucket = new NatsMembersBucket(nats.nc);
    const membership: NatsMembership = {
      firstHostId: 'host-1',
      servers: [{ hostId: 'host-1', address: '10.9.0.1', port: 4222, routePort: 6222 }],
      users: [{ comment: 'api', nkey: userKey(), identity: { role: 'gateway' } }],
    };
    // The first record: the config is written (it was not there), the server not reloaded.
    expect(await bucket.write(JSON.stringify(membership))).toBe(true);
    const config = await until(async () => { try { return readFileSync(secretsOf(dir.path).natsConfig, 'utf8'); } catch { return ''; } }, (c) => c.includes(membership.users[0]!.nkey));
    expect(config).toContain('10.9.0.1:6222');
    // A host joins: its route and keys are written, and the server reloads once.
    const agentKey = userKey();
    const joined: NatsMembership = {
      ...membership,
      servers: [...membership.servers, { hostId: 'host-3', address: '10.9.0.3', port: 4222, routePort: 6222 }],
      users: [...membership.users, { comment: 'runtime-agent of host host-3', nkey: agentKey, identity: { role: 'agent', host: 'host-3' } }],
    };
    await bucket.write(JSON.stringify(joined));
    await until(async () => out, (o) => o.includes('reload'));
    expect(readFileSync(secretsOf(dir.path).natsConfig, 'utf8')).toContain(agentKey);
    // A record that is not a membership changes nothing; the same membership again reloads nothing.
    await bucket.write(JSON.stringify({ ...joined, users: [{ nkey: 'nope' }] }));
    await bucket.write(JSON.stringify(joined));
    await bucket.write(JSON.stringify(membership)); // host 3 removed: reloaded a second time
    await until(async () => out, (o) => o.split('reload').length - 1 === 2);
    expect(out.split('reload').length - 1).toBe(2);
    expect(readFileSync(secretsOf(dir.path).natsConfig, 'utf8')).not.toContain(agentKey);
  });

  it('applies a change its watch did not deliver, and watches anew', async () => {
    await using nats = await startNatsFixture();
    await using dir = tempDir('berth-nats-config-');
    saveMemberNatsServer(dir.path, { hostId: 'host-2', address: '10.9.0.2', port: 4222, routePort: 6222, storeDir: join(dir.path, 'nats') }, { username: 'r', password: 'p' });
    const configFile = secretsOf(dir.path).natsConfig;
    const config = () => { try { return readFileSync(configFile, 'utf8'); } catch { return ''; } }; // not written yet
    const bucket = new NatsMembersBucket(nats.nc);
    const membership: NatsMembership = {
      firstHostId: 'host-1',
      servers: [{ hostId: 'host-1', address: '10.9.0.1', port: 4222, routePort: 6222 }],
      users: [{ comment: 'api', nkey: userKey(), identity: { role: 'gateway' } }],
    };
    await bucket.write(JSON.stringify(membership));
    const agent = await nats.connect();
    const watcher = watchNatsConfig(agent, { configFile, pidFile: join(dir.path, 'run', 'platform', 'nats.pid'), log: silentLogger, checkMs: 1_000 });
    onTestFinished(() => watcher.stop());
    await until(async () => config(), (c) => c.includes(membership.users[0]!.nkey));

    // The watch's consumer goes away as it does with the nats-server it lived on (ephemeral, one
    // replica): nats.js hears nothing of it until it has missed two heartbeats, 10 s or more.
    const jsm = await nats.nc.jetstreamManager();
    const stream = kvStream(NATS_MEMBERS_BUCKET);
    const consumers = await jsm.consumers.list(stream).next();
    expect(consumers).toHaveLength(1);
    await jsm.consumers.delete(stream, consumers[0]!.name);
    const removed = { ...membership, users: [{ comment: 'api', nkey: userKey(), identity: { role: 'gateway' as const } }] };
    await bucket.write(JSON.stringify(removed));
    // Applied from a read within seconds, well before nats.js would make its consumer again.
    expect(await until(async () => config(), (c) => c.includes(removed.users[0]!.nkey), { timeoutMs: 8_000 })).not.toContain(membership.users[0]!.nkey);
    // And the watch is made again: a consumer of the bucket's stream other than the deleted one.
    const again = await until(() => jsm.consumers.list(stream).next(), (list) => list.some((c) => c.name !== consumers[0]!.name), { timeoutMs: 8_000 });
    expect(again.some((c) => c.name !== consumers[0]!.name)).toBe(true);
  });
});
