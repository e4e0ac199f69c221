/**
 * A host joining the cluster as another machine would (issue 14): the first host is up with
 * `--address`, `berth platform join-token` prints the token, the second host (its own network
 * namespace and data root) runs `platform up --join nats://… --token …`, reading nothing of the
 * first host's data root. The gateway then reaches its agent over TCP with mutual TLS (the cluster
 * CA's certificates), and its images come over the cluster registry's HTTPS (the first host's
 * certificate of the cluster CA). Wrong, rotated and mismatched tokens are refused, leaving nothing
 * behind. NATS between the hosts is TLS, and a joining host pins its CA by the token's digest before
 * it sends its key. `node rm` revokes the host's certificate: the gateway refuses it even with its
 * NATS keys let in again, and a host joining afterwards gets a new one that works.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator, nkeys } from 'nats';
import { natsTlsOptions } from '@berth/events';
import {
  certificateFingerprint,
  clusterTlsOf,
  ensureClusterCa,
  ensurePlatformSecrets,
  platformDown,
  readRevocationList,
  reloadNatsServer,
  revokedSerials,
  secretsOf,
  waitNatsKeyAdmitted,
} from '@berth/platform';
import { BERTH_CLI, httpsGet, runCli, startNatsServer, startTestCluster, tempDir, until, type TestCluster, type TestHost } from '@berth/testing';

let cluster: TestCluster;
let url = '';
let token = '';
const berth = (args: string[], env?: Record<string, string>) => cluster.berth(args, env ? { env } : {});

/** `berth run --rm --node NODE busybox echo TEXT`, again until it succeeds (within 30 s): the node has just (re)joined. */
const echoOn = (node: string, text: string) =>
  until(() => berth(['run', '--rm', '--node', node, 'busybox', 'echo', text]), (r) => r.code === 0, { timeoutMs: 30_000 });

/** `berth platform …` run as root on this machine (the root namespace reaches the test hosts through the bridge). */
const platformCli = (args: string[], env: Record<string, string> = {}) => runCli(BERTH_CLI, ['platform', ...args], { env: { ...process.env, ...env }, timeoutMs: 60_000 });

/** The cluster CA's certificate (the first host's). */
const clusterCa = () => readFileSync(clusterTlsOf(secretsOf(cluster.platform.dataRoot).dir).ca, 'utf8');

/** Pids of processes whose command line names `path`. */
function processesUsing(path: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path)) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** `platform up --join` of a new data root that must be refused: its error, and nothing left behind. */
async function refusedJoin(joinUrl: string, joinToken: string): Promise<string> {
  await using dir = tempDir('berth-e2e-refused-');
  const dataRoot = join(dir.path, 'host');
  // The token from the environment, as a script would pass it (not on the command line).
  // An address of the test network no host has: the join is refused before anything listens.
  const address = cluster.hosts[0]!.address.replace(/\.\d+$/, '.200');
  const up = await platformCli(['up', '--data-root', dataRoot, '--join', joinUrl, '--address', address], { BERTH_JOIN_TOKEN: joinToken });
  expect(up.code, up.stdout).not.toBe(0);
  expect(up.stderr).not.toContain(joinToken.split('-')[2]!); // the secret is not repeated
  expect(processesUsing(dataRoot)).toEqual([]);
  for (const file of ['platform.json', 'secrets', 'host-id', 'run']) expect(existsSync(join(dataRoot, file)), file).toBe(false);
  return up.stderr.trim();
}

/** The serial of the certificate a TLS server at `host:port` shows (its chain checked against `ca`; a client certificate offered). */
function peerSerial(host: string, port: number, files: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ...files, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => void (cluster = await startTestCluster(1, { busybox: true })), 240_000);
afterAll(() => cluster?.stop(), 120_000);

describe('joining another machine with a join token', () => {
  it('prints a token pinning the cluster CA, and the command to join with', async () => {
    const out = await platformCli(['join-token', '--data-root', cluster.platform.dataRoot]);
    expect(out.code, out.stderr).toBe(0);
    const line = out.stdout.split('\n').find((l) => l.includes('--join'))!;
    [, url, token] = /--join (nats:\/\/\S+) --token (\S+) --address ADDRESS/.exec(line)!;
    expect(url).toBe(`nats://${cluster.hosts[0]!.address}:${cluster.platform.settings.natsPort}`);
    expect(token).toMatch(/^BERTH1-[0-9a-f]{64}-SU[A-Z0-9]+$/);
    const quiet = await platformCli(['join-token', '-q', '--data-root', cluster.platform.dataRoot]);
    expect(quiet.stdout.trim()).toBe(token); // the same until rotated
  });

  it('refuses a wrong token, a token of another CA, an unreachable NATS and a rotated token, leaving nothing', async () => {
    const otherSeed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const [, fingerprint, seed] = token.split('-');
    expect(await refusedJoin(url, `BERTH1-${fingerprint}-${otherSeed}`)).toContain(
      `Error: The cluster's NATS (${url}) refused the join token: it is not this cluster's, or it was rotated`,
    );
    const forged = `BERTH1-${'0'.repeat(64)}-${seed}`;
    // Found out from the TLS handshake of the cluster's nats-server, before the key signs anything.
    const mismatch = await refusedJoin(url, forged);
    expect(mismatch).toContain(`Error: The cluster's NATS at ${url} has a certificate of CA sha256:${fingerprint} (berth cluster CA `);
    expect(mismatch).toContain(`not of the join token's CA sha256:${'0'.repeat(64)}: the token is for another cluster, or something between passes for this one`);
    const closed = `nats://${cluster.hosts[0]!.address}:1`;
    expect(await refusedJoin(closed, token)).toContain(`Error: Cannot reach the cluster's NATS at ${closed}:`);
    expect(await refusedJoin(url, 'BERTH1-abc')).toContain('Error: Invalid join token: expected 3 parts separated by "-", not 2');
    // The refused hosts were never let in: the first host knows no joined host.
    expect(existsSync(join(cluster.platform.dataRoot, 'secrets', 'hosts'))).toBe(false);

    const rotated = await platformCli(['join-token', '--rotate', '-q', '--data-root', cluster.platform.dataRoot]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const old = token;
    token = rotated.stdout.trim();
    expect(token).not.toBe(old);
    expect(token.split('-')[1]).toBe(fingerprint); // the same CA
    // nats-server applies the reload asynchronously: the old token is refused once it has.
    let refusal = '';
    await until(
      async () => (refusal = await refusedJoin(url, old)),
      (r) => r.includes('refused the join token'),
      { timeoutMs: 10_000 },
    );
    expect(refusal).toContain('refused the join token: it is not this cluster\'s, or it was rotated');
  }, 120_000);

  it('joins a second host whose agent the gateway reaches over TCP with mutual TLS', async () => {
    const started = Date.now();
    const host: TestHost = await cluster.joinWithToken(2, { url, token });
    console.log(`cluster-join: platform up --join took ${Date.now() - started} ms (the join exchange, then its agent and builder started)`);
    // Nothing of the first host's data root is named in the second host's settings or services.
    expect(JSON.stringify(host.settings)).not.toContain(cluster.platform.dataRoot);
    expect(readFileSync(join(host.settings.runRoot, 'platform', 'runtime-agent.cmdline'), 'utf8')).not.toContain(cluster.platform.dataRoot);
    const ls = await until(
      () => berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Labels}}']),
      (r) => r.stdout.trim().split('\n').filter((l) => l.includes(' ready ')).length === 2,
      { timeoutMs: 30_000 },
    );
    expect(ls.stdout.trim().split('\n')).toEqual(['node-1 ready zone=z1', 'node-2 ready zone=z2']);
    const addr = await berth(['node', 'inspect', '--format', '{{.Status.Addr}}', 'node-2']);
    expect(addr.stdout.trim()).toBe(`tcp://${host.address}:${host.settings.agentTlsPort}`);
    expect((await berth(['node', 'inspect', '--format', '{{.Status.Addr}}', 'node-1'])).stdout.trim()).toBe(
      `tcp://${cluster.hosts[0]!.address}:${cluster.platform.settings.agentTlsPort}`,
    );

    // busybox is on node-1 only: it follows the container to node-2 through the cluster registry.
    const run = await berth(['run', '-d', '--node', 'node-2', '--name', 'far', 'busybox', 'sh', '-c', 'echo hello from far; sleep 600']);
    expect(run.code, run.stderr).toBe(0);
    expect((await berth(['ps', '--format', '{{.Names}} {{.Node}}'])).stdout.trim()).toBe('far node-2');
    const logs = await until(() => berth(['logs', 'far']), (r) => r.stdout.includes('hello'));
    expect(logs.stdout).toBe('hello from far\n');
    const exec = await berth(['exec', 'far', 'cat', '/etc/hostname']);
    expect(exec.code, exec.stderr).toBe(0);
    expect((await berth(['inspect', '--format', '{{.Name}} {{.State.Running}}', 'far'])).stdout.trim()).toBe('/far true');
    const rm = await berth(['rm', '-f', 'far']);
    expect(rm.code, rm.stderr).toBe(0);

    // The image came over the cluster registry, which is HTTPS with the first host's certificate of
    // the cluster CA: the joined host's agent trusts that CA for it (no --insecure-registry).
    const registry = `${cluster.hosts[0]!.address}:${cluster.platform.settings.registryPort}`;
    const caFile = join(host.dataRoot, 'secrets', 'tls', 'ca.pem');
    const agentArgs = readFileSync(join(host.settings.runRoot, 'platform', 'runtime-agent.cmdline'), 'utf8').split('\0');
    expect(agentArgs).toContain(`--platform-registry=${registry}`);
    expect(agentArgs).toContain(`--platform-registry-ca=${caFile}`);
    expect(agentArgs.filter((a) => a.startsWith('--insecure-registry'))).toEqual([]);
    const moved = readFileSync(join(cluster.platform.dataRoot, 'logs', 'api.log'), 'utf8').split('\n').filter((l) => l.includes('Moved an image to the host'));
    expect(moved.length, 'the gateway moved busybox').toBeGreaterThan(0);
    expect(JSON.parse(moved.at(-1)!)).toMatchObject({ to: 'node-2', via: 'registry' });
    const tags = await httpsGet(`https://${registry}/v2/berth-cluster/image/tags/list`, readFileSync(caFile));
    expect(typeof tags === 'object' && tags.status, JSON.stringify(tags)).toBe(200);
    expect((JSON.parse((tags as { body: string }).body) as { tags: string[] }).tags.length).toBeGreaterThan(0);
    // Not served in clear, and its certificate is the cluster CA's only.
    expect(await fetch(`http://${registry}/v2/`).then((r) => `HTTP ${r.status}`, (err: Error) => `refused: ${String(err.cause ?? err.message)}`)).toMatch(/^refused: /);
    expect(await httpsGet(`https://${registry}/v2/`, readFileSync('/etc/ssl/certs/ca-certificates.crt'))).toMatch(/certificate/i);

    // Its builder, on TCP with mutual TLS too: a build pinned to node-2 goes to node-2's builder, the
    // one announced there (busybox came with `far`).
    await using ctx = tempDir('berth-e2e-build-');
    writeFileSync(join(ctx.path, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n');
    const build = await berth(['build', '-q', '-t', 'joined-build', ctx.path], { BERTH_NODE: 'node-2' });
    expect(build.code, build.stderr).toBe(0);
    const builder = await berth(['run', '--rm', '--node', 'node-2', 'joined-build', 'cat', '/built']);
    expect(builder.stdout, builder.stderr).toBe('built\n');

    // Its platform.json keeps the join: `platform up` again (no token) starts it as it was.
    host.kill();
    await host.restart();
    const status = await platformCli(['status', '--data-root', host.dataRoot]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/runtime-agent\s+\d+\s+healthy/);
    expect(status.stdout).not.toMatch(/^nats/m); // it uses the first host's nats-server
    const back = await echoOn('node-2', 'back');
    expect(back.stdout, back.stderr).toBe('back\n');
  }, 180_000);

  it('speaks only TLS on NATS between the hosts, and sends no key to a server of another CA', async () => {
    const host = cluster.hosts[1]!;
    // Every service of both hosts connects with the cluster CA.
    for (const [settings, services] of [[cluster.platform.settings, ['runtime-agent', 'builder', 'api', 'registry']], [host.settings, ['runtime-agent', 'builder']]] as const) {
      for (const service of services) {
        expect(readFileSync(join(settings.runRoot, 'platform', `${service}.cmdline`), 'utf8').split('\0'), service).toContain(`--nats-ca=${join(settings.dataRoot, 'secrets', 'tls', 'ca.pem')}`);
      }
    }
    // The first host's nats-server, at its address, requires TLS: a client without the CA cannot
    // verify it, and one that will not start TLS is refused.
    await expect(connect({ servers: url, reconnect: false, timeout: 5_000 })).rejects.toThrow(/certificate/i);
    await expect(connect({ servers: url, reconnect: false, timeout: 5_000, tls: null })).rejects.toThrow();
    const seed = new TextEncoder().encode(readFileSync(join(host.dataRoot, 'secrets', 'nats', 'runtime-agent.nk'), 'utf8').trim());
    const nc = await connect({ servers: url, authenticator: nkeyAuthenticator(seed), reconnect: false, timeout: 5_000, tls: natsTlsOptions(clusterCa()) });
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();

    // A nats-server of another CA where the cluster's should be (something between): the joining
    // host finds out from the TLS handshake and sends nothing, not even a CONNECT (traced).
    await using dir = tempDir('berth-e2e-impostor-');
    const other = await ensureClusterCa(join(dir.path, 'secrets'), { hostId: 'impostor', address: '127.0.0.1' });
    writeFileSync(join(dir.path, 'chain.pem'), readFileSync(other.cert, 'utf8') + readFileSync(other.ca, 'utf8'));
    await using impostor = await startNatsServer(dir.path, {
      config: `debug: true\ntrace: true\ntls { cert_file: "${join(dir.path, 'chain.pem')}", key_file: "${other.key}", timeout: 5 }\n`,
    });
    let log = '';
    impostor.process.stderr!.on('data', (d) => (log += String(d)));
    const refusal = await refusedJoin(impostor.url, token);
    expect(refusal).toContain(`Error: The cluster's NATS at ${impostor.url} has a certificate of CA sha256:${certificateFingerprint(readFileSync(other.ca, 'utf8'))} (berth cluster CA impostor)`);
    expect(refusal).toContain(`not of the join token's CA sha256:${token.split('-')[1]}`);
    expect(log, log).toMatch(/Client connection created/);
    expect(log, log).not.toMatch(/CONNECT/);
  }, 60_000);

  it('lets a removed node\'s keys out of NATS (node rm revokes, as swarm\'s)', async () => {
    const host = cluster.hosts[1]!;
    await platformDown({ dataRoot: host.dataRoot });
    const down = await until(
      () => berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']),
      (r) => r.stdout.includes('node-2 down'),
      { timeoutMs: 30_000 },
    );
    expect(down.stdout).toContain('node-2 down');
    const seed = new TextEncoder().encode(readFileSync(join(host.dataRoot, 'secrets', 'nats', 'runtime-agent.nk'), 'utf8').trim());
    const attempt = async () => {
      try {
        await (await connect({ servers: url, authenticator: nkeyAuthenticator(seed), reconnect: false, timeout: 2_000, tls: natsTlsOptions(clusterCa()) })).close();
        return 'admitted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await attempt()).toBe('admitted'); // its keys still open NATS until the node is removed
    const rm = await berth(['node', 'rm', 'node-2']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(existsSync(join(cluster.platform.dataRoot, 'secrets', 'hosts', `${host.hostId}.json`))).toBe(false);
    // nats-server applies the reload asynchronously.
    expect(await until(attempt, (r) => r !== 'admitted', { timeoutMs: 10_000 })).toMatch(/authorization violation/i);
  }, 60_000);

  it("revokes a removed node's certificate: refused even with its keys let in again; a host joining afterwards works", async () => {
    const host = cluster.hosts[1]!;
    const first = cluster.platform.settings;
    const firstSecrets = join(first.dataRoot, 'secrets');
    const serial = new X509Certificate(readFileSync(join(host.dataRoot, 'secrets', 'tls', 'host.pem'))).serialNumber;
    const revoked = readRevocationList(firstSecrets);
    expect(revoked?.entries.map((e) => [e.serial, e.subject])).toEqual([[serial, host.hostId]]);
    // The first host's agent took the CRL for its TCP listener (read from KV every 5 s).
    await until(
      async () => readFileSync(join(first.dataRoot, 'logs', 'runtime-agent.log'), 'utf8'),
      (log) => log.includes('The TCP listener refuses the revoked certificates of the cluster CA'),
      { timeoutMs: 15_000 },
    );

    // Its NATS keys let in again (a mistake, or an old config): the machine comes back and
    // announces its agent at its address, with its revoked certificate.
    writeFileSync(
      join(firstSecrets, 'hosts', `${host.hostId}.json`),
      JSON.stringify({ hostId: host.hostId, address: host.address, nodeName: 'node-2', agent: publicKey(host, 'runtime-agent'), builder: publicKey(host, 'builder') }) + '\n',
    );
    ensurePlatformSecrets(first.dataRoot, { port: first.natsPort, host: first.address, storeDir: join(first.dataRoot, 'nats'), hostId: first.hostId });
    expect(reloadNatsServer(first)).toBe(true);
    await waitNatsKeyAdmitted([url], join(host.dataRoot, 'secrets', 'nats', 'runtime-agent.nk'), { timeoutMs: 10_000, caFile: join(firstSecrets, 'tls', 'ca.pem') });
    await host.restart();
    const gatewayFiles = {
      ca: readFileSync(join(firstSecrets, 'tls', 'ca.pem')),
      cert: readFileSync(join(firstSecrets, 'tls', 'gateway.pem')),
      key: readFileSync(join(firstSecrets, 'tls', 'gateway-key.pem')),
    };
    // It answers TLS with the certificate the list revokes…
    expect(await peerSerial(host.address, host.settings.agentTlsPort!, gatewayFiles)).toBe(serial);
    // …which the gateway refuses when it probes the announced agent: the node never comes back.
    const refusal = await until(
      async () => readFileSync(join(first.dataRoot, 'logs', 'api.log'), 'utf8').split('\n').find((l) => l.includes('whose certificate is revoked')),
      (line) => line !== undefined,
      { timeoutMs: 15_000 },
    );
    expect(JSON.parse(refusal!)).toMatchObject({ host: host.hostId, serial });
    const run = await berth(['run', '--rm', '--node', 'node-2', 'busybox', 'echo', 'revoked?']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('No such node: "node-2"');
    expect((await berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).stdout).not.toContain('node-2');
    await platformDown({ dataRoot: host.dataRoot });

    // The machine joins again (a new host, a new certificate): it works, the revocation list aside.
    const again = await cluster.joinWithToken(3, { url, token });
    const fresh = new X509Certificate(readFileSync(join(again.dataRoot, 'secrets', 'tls', 'host.pem'))).serialNumber;
    expect(revokedSerials(readRevocationList(firstSecrets)).has(fresh)).toBe(false);
    const hello = await echoOn('node-3', 'hello again');
    expect(hello.stdout, hello.stderr).toBe('hello again\n');
  }, 180_000);
});

/** The public nkey of a host's service (its seed in the host's secrets). */
function publicKey(host: TestHost, service: string): string {
  const seed = readFileSync(join(host.dataRoot, 'secrets', 'nats', `${service}.nk`), 'utf8').trim();
  return nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
}
