/**
 * tools/nats-cas-race: whether this machine's nats-server lets two revision-checked KV writes of one
 * key both through, in a NATS cluster of three (as a Berth cluster of three hosts runs).
 *
 *   npx tsx tools/nats-cas-race.ts [--rounds 300]
 *
 * Starts three nats-servers (JetStream, one cluster, loopback, random ports, a temporary directory:
 * libs/testing startNatsClusterFixture, as the tests of the fixes below), makes an R3 bucket with
 * one value per key (as libs/events platform-bucket.ts does), and per round: puts the key, then
 * updates it from two connections at once (one to server 1, one to server 2), both naming the
 * revision just put. At most one may succeed. nats-server before 2.9.21 checks
 * `Nats-Expected-Last-Subject-Sequence` of a clustered stream before proposing the write, not as
 * part of it, so two writes in flight at once can both pass (nats-io/nats-server#4320); Debian 12
 * ships 2.9.10. Berth's cross-gateway writes relied on that check: test/cluster-gateways.e2e.test.ts
 * "does not over-commit a node's memory" failed once that way in a clean-clone run (both creates
 * placed). The placement ledger, the container name claims and the cluster duties' lease no longer
 * do (libs/events sequenced-bucket.ts); node records and overlay claims still do (docs/dev/cluster.md).
 *
 * The same rounds again with the stream-level check (`Nats-Expected-Last-Sequence`), which a
 * clustered stream checks against its proposals in flight: the way around it where one bucket holds
 * only the keys that must be serialized. Prints the server's version and, for each check, how many
 * rounds let both writes through; exits 0 either way (a diagnosis, not a test).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startNatsClusterFixture } from '@berth/testing';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '300' } } });
const rounds = Number(values.rounds);

// Three nats-servers in one cluster, a connection to server 1 and one to server 2; it waits until the
// cluster takes a stream of 3 replicas (its meta leader elected, every server reported).
const cluster = await startNatsClusterFixture();
try {
  const version = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const nc1 = cluster.nc;
  const nc2 = cluster.other;
  const kv1 = await nc1.jetstream().views.kv('cas', { history: 1, replicas: 3, allow_direct: false });
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
  await cluster.stop();
}
