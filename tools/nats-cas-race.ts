/**
 * tools/nats-cas-race: whether this machine's nats-server lets two revision-checked KV writes of one
 * key both through, in a NATS cluster of three (as a Berth cluster of three hosts runs).
 *
 *   npx tsx tools/nats-cas-race.ts [--rounds 300]
 *
 * Starts three nats-servers (JetStream, one cluster, loopback, random ports, a temporary directory),
 * makes an R3 bucket with one value per key (as libs/events platform-bucket.ts does), and per round:
 * puts the key, then updates it from two connections at once (one to server 1, one to server 2),
 * both naming the revision just put. At most one may succeed. nats-server before 2.9.21 checks
 * `Nats-Expected-Last-Subject-Sequence` of a clustered stream before proposing the write, not as
 * part of it, so two writes in flight at once can both pass (nats-io/nats-server#4320); Debian 12
 * ships 2.9.10. Berth's cross-gateway writes rely on that check (the placement ledger, container
 * name claims, the cluster duties' lease): test/cluster-gateways.e2e.test.ts "does not over-commit
 * a node's memory" failed once that way in a clean-clone run (both creates placed).
 *
 * The same rounds again with the stream-level check (`Nats-Expected-Last-Sequence`), which a
 * clustered stream checks against its proposals in flight: the way around it where one bucket holds
 * only the keys that must be serialized. Prints the server's version and, for each check, how many
 * rounds let both writes through; exits 0 either way (a diagnosis, not a test).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from 'nats';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '300' } } });
const rounds = Number(values.rounds);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'berth-nats-cas-'));
const servers: ChildProcess[] = [];
const connections: NatsConnection[] = [];
try {
  const version = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const clients = await Promise.all([0, 1, 2].map(() => freePort()));
  const routes = await Promise.all([0, 1, 2].map(() => freePort()));
  for (let i = 0; i < 3; i++) {
    const conf = join(dir, `s${i}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: s${i}`,
        `listen: 127.0.0.1:${clients[i]}`,
        `jetstream { store_dir: "${join(dir, `s${i}`)}" }`,
        `cluster { name: cas, listen: 127.0.0.1:${routes[i]}, routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}] }`,
      ].join('\n'),
    );
    servers.push(spawn('nats-server', ['-c', conf], { stdio: 'ignore' }));
  }
  const connectTo = async (port: number) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await connect({ servers: `127.0.0.1:${port}`, timeout: 2_000 });
      } catch (err) {
        if (attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const nc1 = await connectTo(clients[0]!);
  const nc2 = await connectTo(clients[1]!);
  connections.push(nc1, nc2);
  // JetStream needs its meta leader: creating the bucket is retried until the cluster has one.
  let kv1;
  for (let attempt = 0; ; attempt++) {
    try {
      kv1 = await nc1.jetstream().views.kv('cas', { history: 1, replicas: 3, allow_direct: false });
      break;
    } catch (err) {
      if (attempt > 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const kv2 = await nc2.jetstream().views.kv('cas', { history: 1, replicas: 3, allow_direct: false });
  const encode = (v: string) => new TextEncoder().encode(v);
  // Two writes naming the same revision, at once, through two servers: how many rounds let both through.
  const race = async (write: (which: 1 | 2, value: string, revision: number) => Promise<unknown>) => {
    const counts = { both: 0, one: 0, none: 0 };
    for (let round = 0; round < rounds; round++) {
      const revision = await kv1.put('key', encode(`base ${round}`));
      const results = await Promise.allSettled([write(1, 'a', revision), write(2, 'b', revision)]);
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      counts[ok === 2 ? 'both' : ok === 1 ? 'one' : 'none']++;
    }
    return counts;
  };
  // kv.update: Nats-Expected-Last-Subject-Sequence, the check Berth's revision-checked writes use.
  const perSubject = await race((which, value, revision) => (which === 1 ? kv1 : kv2).update('key', encode(value), revision));
  // The stream's last sequence instead (Nats-Expected-Last-Sequence): only this key is written, so it is the key's revision.
  const perStream = await race((which, value, revision) => (which === 1 ? nc1 : nc2).jetstream().publish('$KV.cas.key', encode(value), { expect: { lastSequence: revision } }));
  console.log(`${version}: ${rounds} rounds of two writes of one key naming the same revision, at once, R3 bucket, through two servers`);
  const line = (what: string, c: typeof perSubject) => console.log(`  ${what.padEnd(48)} both written: ${c.both}   one (as it must be): ${c.one}   none: ${c.none}`);
  line('expected last subject sequence (kv.update)', perSubject);
  line("expected last sequence (the stream's)", perStream);
} finally {
  await Promise.all(connections.map((nc) => nc.close().catch(() => {})));
  for (const s of servers) s.kill('SIGKILL');
  await Promise.all(servers.map((s) => (s.exitCode === null && s.signalCode === null ? new Promise((r) => s.once('exit', r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
