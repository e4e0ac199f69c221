import { describe, expect, it } from 'vitest';
import { inboxPrefix, natsPermissions } from './nats-permissions.js';

describe('natsPermissions', () => {
  it('lets the gateway use the JetStream API, write the declared Compose projects and answer joins, nothing else', () => {
    expect(natsPermissions({ role: 'gateway' })).toEqual({
      publish: ['$JS.API.>', '$KV.compose-projects.>', '$KV.cluster.>', '$KV.reservations.>', '$KV.name-claims.>', '$KV.leases.>', '$KV.revocations.>', '$KV.nats-members.>', '_INBOX_join.>'],
      subscribe: ['_INBOX_gateway.>', 'berth.cluster.join'],
    });
  });

  it('lets a joining host (the join token\'s key) ask to join and read its answers, nothing else', () => {
    expect(natsPermissions({ role: 'join' })).toEqual({ publish: ['berth.cluster.join'], subscribe: ['_INBOX_join.>'] });
    expect(inboxPrefix({ role: 'join' })).toBe('_INBOX_join');
  });

  it("confines a host's services to their own subjects, keys and streams", () => {
    const agent = natsPermissions({ role: 'agent', host: 'h.1' });
    expect(agent.publish).toContain('berth.events.h_1.>');
    expect(agent.publish).toContain('$KV.hosts.h_1');
    expect(agent.publish.some((s) => s.includes('compose-projects'))).toBe(false);
    // The NATS cluster's membership: read and watched, never written, by an agent.
    expect(agent.publish).toContain('$JS.API.CONSUMER.CREATE.KV_nats-members.>');
    expect(agent.publish).toContain('$JS.API.DIRECT.GET.KV_nats-members.>');
    expect(agent.publish.some((s) => s.startsWith('$KV.nats-members'))).toBe(false);
    expect(agent.subscribe).toEqual([`${inboxPrefix({ role: 'agent', host: 'h.1' })}.>`]);
    expect(natsPermissions({ role: 'builder', host: 'h' }).publish).toEqual([
      'berth.events.h.builder.>',
      '$KV.builders.h',
      '$JS.API.INFO',
      '$JS.API.STREAM.INFO.EVENTS',
      '$JS.API.STREAM.CREATE.EVENTS',
      '$JS.API.STREAM.INFO.KV_builders',
      '$JS.API.STREAM.CREATE.KV_builders',
      // The revocation list, and nothing of the gateway's `cluster` bucket.
      '$JS.API.STREAM.MSG.GET.KV_revocations',
    ]);
    expect(agent.publish).toContain('$JS.API.STREAM.MSG.GET.KV_revocations');
    expect(agent.publish.some((s) => s.includes('KV_cluster') || s.includes('$KV.cluster'))).toBe(false);
    expect(() => natsPermissions({ role: 'registry' })).toThrow('A NATS identity of role "registry" needs its host id');
  });
});
