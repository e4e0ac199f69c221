import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, tempDir, until, type NatsServer, type TempDir } from '@berth/testing';
import { ClusterStore } from './cluster-store.js';
import { inboxPrefix, natsPermissions } from './nats-permissions.js';
import { readRevocationRecord, watchRevocationRecord, writeRevocationRecord, type RevocationRecord } from './revocation-record.js';

/**
 * The revocation list in KV on a real nats-server with the roles' permissions: the gateway writes
 * it, an agent and a builder read that key (and nothing else of the gateway's `cluster` bucket).
 */
describe('the revocation record', () => {
  let dir: TempDir;
  let server: NatsServer;
  const conns: Record<string, NatsConnection> = {};
  const record = (serial: string): RevocationRecord => ({
    entries: [{ serial, subject: 'h2', notAfter: '2029-01-01T00:00:00.000Z', revokedAt: '2026-12-03T00:00:00.000Z' }],
    crl: `-----BEGIN X509 CRL-----\n${serial}\n-----END X509 CRL-----\n`,
  });

  beforeAll(async () => {
    dir = tempDir();
    const identities = { gateway: { role: 'gateway' as const }, agent: { role: 'agent' as const, host: 'h1' }, builder: { role: 'builder' as const, host: 'h1' } };
    const users = Object.entries(identities).map(([user, identity]) => {
      const p = natsPermissions(identity);
      return `{ user: ${user}, password: pw, permissions: { publish: { allow: ${JSON.stringify(p.publish)} }, subscribe: { allow: ${JSON.stringify(p.subscribe)} } } }`;
    });
    server = await startNatsServer(dir.path, { config: `authorization { users: [\n${users.join(',\n')}\n] }\n` });
    for (const [user, identity] of Object.entries(identities)) {
      conns[user] = await connect({ servers: server.url, user, pass: 'pw', inboxPrefix: inboxPrefix(identity) });
    }
  });

  afterAll(async () => {
    for (const nc of Object.values(conns)) await nc.close();
    await server?.stop();
    dir?.remove();
  });

  it('is absent until the gateway writes it; an agent and a builder then read it, and nothing of the `cluster` bucket', async () => {
    expect(await readRevocationRecord(conns.agent!)).toBeUndefined(); // no `revocations` bucket yet
    await new ClusterStore(conns.gateway!).putPlacement({ id: 'c1', name: 'web', hostId: 'h1', request: '', restart: false, createdAt: 1 });
    await writeRevocationRecord(conns.gateway!, record('0A1B'));
    expect(await readRevocationRecord(conns.agent!)).toEqual(record('0A1B'));
    expect(await readRevocationRecord(conns.builder!)).toEqual(record('0A1B'));
    // The same message get on the gateway's `cluster` bucket is refused to an agent.
    const other = await conns.agent!.request('$JS.API.STREAM.MSG.GET.KV_cluster', new TextEncoder().encode(JSON.stringify({ last_by_subj: '$KV.cluster.placement.c1' })), { timeout: 1_000 }).then(
      () => 'read',
      (err: Error) => err.message,
    );
    expect(other).not.toBe('read');
    const gatewayRead = await conns.gateway!.request('$JS.API.STREAM.MSG.GET.KV_cluster', new TextEncoder().encode(JSON.stringify({ last_by_subj: '$KV.cluster.placement.c1' })), { timeout: 1_000 });
    expect(gatewayRead.string()).toContain('"message"'); // it is there: the refusal above is the permission's
  });

  it('is watched: a new list is handed over once, each change once more', async () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const watch = watchRevocationRecord(conns.agent!, { intervalMs: 100, onChange: (r) => void seen.push(r.entries[0]!.serial), onError: (err) => errors.push(err) });
    try {
      await watch.first;
      expect(seen).toEqual(['0A1B']);
      await writeRevocationRecord(conns.gateway!, record('0C2D'));
      await until(async () => seen.length, (n) => n === 2, { timeoutMs: 5_000 });
      await writeRevocationRecord(conns.gateway!, record('0C2D')); // the same list again: not a change
      await new Promise((r) => setTimeout(r, 250)); // a window of reads of the rewritten, unchanged list: none is a change
      await writeRevocationRecord(conns.gateway!, record('0E3F'));
      await until(async () => seen.length, (n) => n >= 3, { timeoutMs: 5_000 });
      expect(seen).toEqual(['0A1B', '0C2D', '0E3F']);
      expect(errors).toEqual([]);
    } finally {
      watch.stop();
    }
  });
});
