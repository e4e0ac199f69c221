/**
 * A host joining the cluster as another machine would (issue 14): the first host is up with
 * `--address`, `berth platform join-token` prints the token, the second host (its own network
 * namespace and data root) runs `platform up --join nats://… --token …`, reading nothing of the
 * first host's data root. The gateway then reaches its agent over TCP with mutual TLS (the cluster
 * CA's certificates). Wrong, rotated and mismatched tokens are refused, leaving nothing behind. NATS
 * between the hosts is TLS, and a joining host pins its CA by the token's digest before it sends its key.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator, nkeys } from 'nats';
import { natsTlsOptions } from '@berth/events';
import { certificateFingerprint, clusterTlsOf, ensureClusterCa, platformDown, secretsOf } from '@berth/platform';
import { BERTH_CLI, runCli, startNatsServer, startTestCluster, tempDir, until, type TestCluster, type TestHost } from '@berth/testing';

let cluster: TestCluster;
let url = '';
let token = '';
const berth = (args: string[], env?: Record<string, string>) => cluster.berth(args, env ? { env } : {});

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

beforeAll(async () => {
  cluster = await startTestCluster(1);
  const boot = await berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

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
    const back = await until(
      () => berth(['run', '--rm', '--node', 'node-2', 'busybox', 'echo', 'back']),
      (r) => r.code === 0,
      { timeoutMs: 30_000 },
    );
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
});
