/**
 * End to end: the control plane as a hostile local user meets it (docs/security.md, "The control
 * plane is authenticated" and "API sockets"). A throwaway system user (useradd, removed after)
 * tries NATS, the registry and the API socket; a service's NATS credentials are tried against other
 * hosts' subjects; a forged host entry is ignored; a TCP gateway needs TLS client certificates.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { BuilderDirectory, connectNats, EventBus, HostRegistry, inboxPrefix, type NatsIdentity } from '@berth/events';
import { platformUp, REPO_ROOT, secretsOf } from '@berth/platform';
import { BERTH_CLI, createSystemGroup, createSystemUser, freePort, makeTlsFiles, serviceLogEvents, startTestPlatform, waitForPort, type SystemGroup, type SystemUser, type TestPlatform, type TlsFiles, signalProcess } from '@berth/testing';

let p: TestPlatform;
let user: SystemUser;
let group: SystemGroup;
let socket: string;
let registry: string;
const opened: NatsConnection[] = [];

beforeAll(async () => {
  p = await startTestPlatform();
  user = createSystemUser();
  group = createSystemGroup();
  // Directories on the way are traversable, as /run/berth is: what protects the socket and the
  // secrets is their own mode, which is what this file tests.
  chmodSync(p.dataRoot, 0o711);
  chmodSync(p.settings.runRoot, 0o711);
  socket = p.settings.apiAddress.slice('unix:'.length);
  registry = `127.0.0.1:${p.settings.registryPort}`;
  expect((await p.berth(['image', 'bootstrap', 'busybox'])).code).toBe(0);
}, 180_000);

afterAll(async () => {
  await Promise.all(opened.map((nc) => nc.close().catch(() => undefined))); // may be closed already
  await p?.stop();
  user?.remove();
  group?.remove();
});

const natsUrl = () => `nats://127.0.0.1:${p.settings.natsPort}`;
const seedOf = (service: string) => secretsOf(p.dataRoot).nkeySeedFile(service);

async function natsAs(service: string, identity: NatsIdentity): Promise<NatsConnection> {
  const nc = await connectNats(natsUrl(), { name: `test-${service}`, nkeySeedFile: seedOf(service), inboxPrefix: inboxPrefix(identity) });
  opened.push(nc);
  return nc;
}

/** As the throwaway user: `berth ARGS` against the platform's socket. */
/** A unix socket in the unprivileged user's home, owned by them, that counts and drops connections. */
async function userOwnedSocket(name: string): Promise<{ path: string; connections: () => number; close: () => void }> {
  const path = join(user.home, name);
  let connections = 0;
  const server: Server = createServer((c) => {
    connections++;
    c.destroy();
  });
  server.listen(path);
  await once(server, 'listening');
  chownSync(path, user.uid, user.gid);
  return { path, connections: () => connections, close: () => server.close() };
}

/** The API's warning that it ignored a NATS `entry` pointing at the user's socket `path`. */
function expectIgnoredEntry(entry: string, path: string): void {
  expect(serviceLogEvents(p.dataRoot, 'api')).toContainEqual(
    expect.objectContaining({ level: 'warn', msg: 'Ignoring an entry announced on NATS', entry, reason: `socket "${path}" is owned by uid ${user.uid}, not root` }),
  );
}

const berthAsUser = (args: string[], groups: number[] = []) =>
  user.run([BERTH_CLI, ...args], { groups, env: { BERTH_HOST: p.settings.apiAddress } });

describe('NATS', () => {
  it('refuses a local user without credentials, who cannot read any either', async () => {
    // Raw protocol, so nothing but node is needed as that user: CONNECT anonymously, then try to
    // subscribe to everything and to publish an event.
    const script = `
      const s = require('net').connect(${p.settings.natsPort}, '127.0.0.1');
      let seen = '', sent = false;
      s.on('data', (d) => {
        seen += d;
        if (!sent && seen.includes('INFO')) {
          sent = true;
          s.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\\r\\nSUB > 1\\r\\nPUB berth.events.x.container.start 2\\r\\nhi\\r\\nPING\\r\\n');
        }
      });
      const done = () => { process.stdout.write(seen); process.exit(0); };
      s.on('close', done); s.on('error', done); setTimeout(done, 5000);`;
    const r = await user.run(['node', '-e', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("-ERR 'Authorization Violation'");
    expect(r.stdout).not.toContain('PONG');
    for (const service of ['runtime-agent', 'api', 'registry', 'builder']) {
      const cat = await user.run(['cat', seedOf(service)]);
      expect(cat.code).not.toBe(0);
      expect(cat.stderr).toContain('Permission denied');
    }
    const conf = await user.run(['cat', secretsOf(p.dataRoot).natsConfig]);
    expect(conf.stderr).toContain('Permission denied');
    expect(statSync(seedOf('runtime-agent')).mode & 0o777).toBe(0o600);
    expect(statSync(secretsOf(p.dataRoot).natsConfig).mode & 0o777).toBe(0o600);
    expect(statSync(secretsOf(p.dataRoot).dir).mode & 0o777).toBe(0o700);
    // nats-server's command line names only its config file.
    const natsPid = readFileSync(join(p.settings.runRoot, 'platform', 'nats.pid'), 'utf8').trim();
    expect(readFileSync(`/proc/${natsPid}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual(['nats-server', '-c', secretsOf(p.dataRoot).natsConfig]);
    await expect(connect({ servers: natsUrl(), reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it("confines an agent's credentials to its own host's subjects and keys", async () => {
    const host = p.settings.hostId;
    const agent = await natsAs('runtime-agent', { role: 'agent', host });
    await new EventBus(agent, host).publish({ type: 'container', action: 'test', id: 'own-host' }); // its own: fine
    await expect(new EventBus(agent, 'other-host').publish({ type: 'container', action: 'start', id: 'x' })).rejects.toThrow(
      'Permissions Violation for Publish to "berth.events.other-host.container.start"',
    );
    const fake = { hostId: 'other-host', hostname: 'evil', address: 'unix:/tmp/evil.sock', version: '0', startedAt: Date.now() };
    await expect(new HostRegistry(agent).announce(fake)).rejects.toThrow('Permissions Violation for Publish to "$KV.hosts.other-host"');
    // Only the gateway reads agent addresses: the entries' values are refused (the stream's info,
    // which opening the bucket to announce needs, names the keys).
    await expect(new HostRegistry(agent).list()).rejects.toThrow('Permissions Violation for Publish to "$JS.API.STREAM.MSG.GET.KV_hosts"');
    const sub = agent.subscribe('berth.events.>');
    await expect((async () => {
      for await (const m of sub) return m;
    })()).rejects.toThrow('Permissions Violation for Subscription to "berth.events.>"');

    // The registry's credentials cannot register an agent either.
    const reg = await natsAs('registry', { role: 'registry', host });
    await expect(reg.jetstream().publish(`$KV.hosts.${host}`, new Uint8Array(1))).rejects.toThrow(`Permissions Violation for Publish to "$KV.hosts.${host}"`);
    await expect(new HostRegistry(reg).announce({ ...fake, hostId: host })).rejects.toThrow('Permissions Violation for Publish to "$JS.API.STREAM.INFO.KV_hosts"');
    await expect(new EventBus(reg, host).publish({ type: 'container', action: 'start', id: 'x' })).rejects.toThrow(
      `Permissions Violation for Publish to "berth.events.${host}.container.start"`,
    );
  });

  it("confines the builder's credentials to its own host's builders entry and builder events", async () => {
    const host = p.settings.hostId;
    const builder = await natsAs('builder', { role: 'builder', host });
    const entry = { hostId: host, address: `unix:${join(p.settings.runRoot, 'builder.sock')}`, version: '0', startedAt: 1 };
    await new BuilderDirectory(builder).announce(entry); // its own: fine (the real builder renews it)
    await new EventBus(builder, host).publish({ type: 'builder', action: 'prune', id: 'own-host' });
    await expect(new BuilderDirectory(builder).announce({ ...entry, hostId: 'other-host' })).rejects.toThrow(
      'Permissions Violation for Publish to "$KV.builders.other-host"',
    );
    await expect(new BuilderDirectory(builder).list()).rejects.toThrow('Permissions Violation for Publish to "$JS.API.STREAM.MSG.GET.KV_builders"');
    await expect(builder.jetstream().publish(`$KV.hosts.${host}`, new Uint8Array(1))).rejects.toThrow(`Permissions Violation for Publish to "$KV.hosts.${host}"`);
    await expect(new EventBus(builder, host).publish({ type: 'image', action: 'tag', id: 'x' })).rejects.toThrow(
      `Permissions Violation for Publish to "berth.events.${host}.image.tag"`,
    );
    // Nor may the agent's credentials announce a builder.
    const agent = await natsAs('runtime-agent', { role: 'agent', host });
    await expect(agent.jetstream().publish(`$KV.builders.${host}`, new Uint8Array(1))).rejects.toThrow(`Permissions Violation for Publish to "$KV.builders.${host}"`);
    // The builder's socket is root's only.
    const stat = statSync(join(p.settings.runRoot, 'builder.sock'));
    expect({ mode: stat.mode & 0o777, uid: stat.uid }).toEqual({ mode: 0o600, uid: 0 });
  });
});

describe('secrets', () => {
  it('never travel on NATS nor reach the services\' logs: -e values, exec -e values, registry passwords', async () => {
    const envSecret = `env-secret-${Date.now()}`;
    const execSecret = `exec-secret-${Date.now()}`;
    const dockerConfig = join(p.dataRoot, 'docker-config');
    const berth = (args: string[], input?: string) => p.berth(args, { env: { DOCKER_CONFIG: dockerConfig }, ...(input !== undefined ? { input } : {}) });
    expect((await berth(['run', '--rm', '-e', `SECRET=${envSecret}`, 'busybox', 'true'])).code).toBe(0);
    expect((await berth(['run', '-d', '--name', 'audit', '--env', `TOKEN=${envSecret}`, '--label', 'app=audit', 'busybox', 'sleep', '60'])).code).toBe(0);
    expect((await berth(['exec', '-e', `X=${execSecret}`, 'audit', 'true'])).code).toBe(0);
    expect((await berth(['rm', '-f', 'audit'])).code).toBe(0);
    const { username, password } = p.registryAuth;
    const login = await berth(['login', registry, '-u', username, '--password-stdin'], password);
    expect(login.code, login.stderr).toBe(0);
    expect((await berth(['tag', 'busybox', `${registry}/audit/bb:1`])).code).toBe(0);
    expect((await berth(['push', `${registry}/audit/bb:1`])).code).toBe(0);

    // Everything NATS keeps (the event history, the hosts and registries buckets), read as the
    // gateway, the only service allowed to.
    const gateway = await natsAs('api', { role: 'gateway' });
    const jsm = await gateway.jetstreamManager();
    let stored = '';
    for (const stream of ['EVENTS', 'KV_hosts', 'KV_registries']) {
      const { state } = await jsm.streams.info(stream);
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined); // a deleted sequence
        if (msg) stored += `${msg.subject} ${Buffer.from(msg.data).toString('latin1')}\n`;
      }
    }
    expect(stored).toContain('audit/bb'); // the audit saw the events of this test
    expect(stored).toContain('app');
    const logs = ['nats', 'runtime-agent', 'builder', 'api', 'registry', 'compose-watcher'].map((s) => readFileSync(join(p.dataRoot, 'logs', `${s}.log`), 'latin1')).join('\n');
    for (const secret of [envSecret, execSecret, password]) {
      expect(stored.includes(secret), `"${secret}" on NATS`).toBe(false);
      expect(logs.includes(secret), `"${secret}" in a service log`).toBe(false);
    }
  });
});

describe('the platform registry', () => {
  it('lets root push without a login, anyone pull, and nobody else push or delete', async () => {
    const ref = `${registry}/sec/busybox:1`;
    expect((await p.berth(['tag', 'busybox', ref])).code).toBe(0);
    const push = await p.berth(['push', ref]);
    expect(push.code, push.stderr).toBe(0);
    const digest = /^1: digest: (sha256:[0-9a-f]{64})/m.exec(push.stdout)?.[1];
    expect(digest, push.stdout).toBeDefined();

    const curl = (args: string[]) => user.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
    const base = `http://${registry}/v2/sec/busybox`;
    expect((await curl([`${base}/manifests/1`, '-H', 'Accept: application/vnd.oci.image.manifest.v1+json'])).stdout).toBe('200');
    expect((await curl(['-X', 'POST', `${base}/blobs/uploads/`])).stdout).toBe('401');
    expect((await curl(['-X', 'DELETE', `${base}/manifests/${digest}`])).stdout).toBe('401');
    expect((await curl(['-X', 'PUT', '-H', 'Content-Type: application/vnd.oci.image.manifest.v1+json', '--data', '{}', `${base}/manifests/2`])).stdout).toBe('401');
    expect((await curl(['-u', 'berth:guess', '-X', 'POST', `${base}/blobs/uploads/`])).stdout).toBe('401');
    // With the platform's credentials (root only) it works.
    const { username, password } = p.registryAuth;
    expect((await curl(['-u', `${username}:${password}`, '-X', 'POST', `${base}/blobs/uploads/`])).stdout).toBe('202');
    expect((await user.run(['cat', secretsOf(p.dataRoot).registryAuth])).stderr).toContain('Permission denied');
  });
});

describe('the API socket', () => {
  it('tells a local user "permission denied on <socket>"', async () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const r = await berthAsUser(['ps']);
    expect(r).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `Cannot connect to the Berth platform at ${p.settings.apiAddress}: permission denied on ${socket} (run as root, or as a member of the group set with \`berth platform up --group\`)\n`,
    });
  });

  it('ignores a host entry whose socket is not root\'s', async () => {
    const fake = await userOwnedSocket('agent.sock');
    const host = p.settings.hostId;
    const agent = await natsAs('runtime-agent', { role: 'agent', host });
    const forge = () =>
      new HostRegistry(agent).announce({ hostId: host, hostname: 'evil', address: `unix:${fake.path}`, version: '0', startedAt: Date.now() + 3_600_000 });
    try {
      // The forged entry (the newest) keeps coming back; the real agent re-announces every 5 s.
      const deadline = Date.now() + 7_000;
      while (Date.now() < deadline) {
        await forge();
        const ps = await p.berth(['ps', '-a']);
        expect(ps.code, ps.stderr).toBe(0);
        expect(ps.stdout).toMatch(/^CONTAINER ID/);
      }
      expect(fake.connections()).toBe(0);
      expectIgnoredEntry(`host ${host}`, fake.path);
    } finally {
      fake.close();
    }
  });

  it("ignores a builder entry whose socket is not root's", async () => {
    const fake = await userOwnedSocket('builder.sock');
    const host = p.settings.hostId;
    const builder = await natsAs('builder', { role: 'builder', host });
    const ctx = join(p.dataRoot, 'forged-builder-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nLABEL forged=no\n');
    // The real builder, stopped, renews nothing: the forged entry (same key) is all NATS has.
    const pid = Number(readFileSync(join(p.settings.runRoot, 'platform', 'builder.pid'), 'utf8').trim());
    signalProcess(pid, 'SIGSTOP');
    try {
      await new BuilderDirectory(builder).announce({ hostId: host, address: `unix:${fake.path}`, version: '0', startedAt: Date.now() });
      const refused = await p.berth(['build', '-q', ctx], { timeoutMs: 60_000 });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`No image builder is running on host "${host}": start it with \`berth platform up\``);
      expect(fake.connections()).toBe(0);
      expectIgnoredEntry(`builder of host ${host}`, fake.path);
    } finally {
      signalProcess(pid, 'SIGCONT');
      fake.close();
    }
    // Back: it renews its entry within 5 s, and builds go to it again.
    const build = await p.berth(['build', '-q', ctx], { timeoutMs: 60_000 });
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(fake.connections()).toBe(0);
  });

  it('refuses TCP without TLS client certificates, and serves clients with a certificate of its CA', async () => {
    const tcp = `tcp://127.0.0.1:${await freePort()}`;
    await expect(platformUp({ dataRoot: p.dataRoot, apiAddress: tcp })).rejects.toThrow(
      `Refusing to serve the API on TCP "${tcp}" without TLS client certificates: add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY, or use a unix socket`,
    );
    // Refused settings are not kept.
    expect(JSON.parse(readFileSync(join(p.dataRoot, 'platform.json'), 'utf8')).apiAddress).toBe(p.settings.apiAddress);

    const tls: TlsFiles = await makeTlsFiles(join(p.dataRoot, 'tls'));
    const port = await freePort();
    const gateway = (flags: string[]) =>
      spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/api/src/main.ts'), `--listen=127.0.0.1:${port}`, `--nats=${natsUrl()}`, `--nats-nkey=${seedOf('api')}`, ...flags], {
        env: { ...process.env, TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const plain = gateway([]);
    let plainErr = '';
    plain.stderr.on('data', (d) => (plainErr += d));
    const [code] = (await once(plain, 'exit')) as [number];
    expect(code).toBe(2);
    expect(plainErr).toContain(`Refusing to listen on TCP "127.0.0.1:${port}" without TLS client certificates`);

    const secure = gateway(['--tlsverify', `--tlscacert=${tls.ca}`, `--tlscert=${tls.serverCert}`, `--tlskey=${tls.serverKey}`]);
    try {
      await waitForPort(port, { timeoutMs: 30_000 });
      const host = `tcp://127.0.0.1:${port}`;
      const ok = await p.berth(['-H', host, '--tlsverify', '--tlscacert', tls.ca, '--tlscert', tls.clientCert, '--tlskey', tls.clientKey, 'ps']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^CONTAINER ID/);
      const rogue = await p.berth(['-H', host, '--tlsverify', '--tlscacert', tls.ca, '--tlscert', tls.rogueCert, '--tlskey', tls.rogueKey, 'ps']);
      expect(rogue.code).toBe(1);
      expect(rogue.stderr).toBe(
        `Cannot connect to the Berth platform at ${host}: TLS handshake failed: the gateway closed the connection (the gateway wants a client certificate signed by its CA: --tlscert, --tlskey)\n`,
      );
      const none = await p.berth(['-H', host, 'ps']);
      expect(none).toMatchObject({ code: 1, stderr: `Cannot connect to the Berth platform at ${host} without TLS: the gateway serves TCP only with client certificates; add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY\n` });
    } finally {
      secure.kill('SIGKILL');
    }
  });

  it('lets the members of --group use the socket (and --registry-anonymous-push opens pushes)', async () => {
    // `up` on the running platform restarts the services whose settings changed (gateway, registry).
    const before = readFileSync(join(p.settings.runRoot, 'platform', 'api.pid'), 'utf8');
    const lines: string[] = [];
    await platformUp({ dataRoot: p.dataRoot, group: group.name, registryAnonymousPush: true }, (line) => lines.push(line));
    expect(readFileSync(join(p.settings.runRoot, 'platform', 'api.pid'), 'utf8')).not.toBe(before);
    // Restarted side by side (the registry needs only NATS): in either order.
    expect(lines.filter((l) => l.includes('to apply new settings')).map((l) => l.split(' ')[1]).sort()).toEqual(['api', 'registry']);
    const stat = statSync(socket);
    expect({ mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid }).toEqual({ mode: 0o660, uid: 0, gid: group.gid });
    // The compose watcher's socket stays root's whatever the group.
    const internal = statSync(join(p.settings.runRoot, 'api-internal.sock'));
    expect({ mode: internal.mode & 0o777, uid: internal.uid, gid: internal.gid }).toEqual({ mode: 0o600, uid: 0, gid: 0 });
    const inside = await user.run([BERTH_CLI, 'ps'], { groups: [group.gid], env: { BERTH_HOST: `unix:${join(p.settings.runRoot, 'api-internal.sock')}` } });
    expect(inside.stderr).toContain(`permission denied on ${join(p.settings.runRoot, 'api-internal.sock')}`);
    const member = await berthAsUser(['ps'], [group.gid]);
    expect(member.code, member.stderr).toBe(0);
    expect(member.stdout).toMatch(/^CONTAINER ID/);
    const outsider = await berthAsUser(['ps']);
    expect(outsider.stderr).toContain(`permission denied on ${socket}`);
    const push = await user.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `http://${registry}/v2/open/x/blobs/uploads/`]);
    expect(push.stdout).toBe('202');
  });
});
