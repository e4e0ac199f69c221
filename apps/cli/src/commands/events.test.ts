import type { Event } from '@berth/proto';
import { describe, expect, it } from 'vitest';
import { formatEvent } from './events.js';

describe('formatEvent', () => {
  it('prints an event line as docker events does', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      const event: Event = {
        type: 'container',
        action: 'start',
        actor: { id: 'abc123', attributes: { name: 'web', image: 'busybox' } },
        scope: 'local',
        time: 1_795_867_200,
        timeNano: '1795867200123456789',
        host: 'h1',
      };
      expect(formatEvent(event)).toBe('2026-11-28T12:00:00.123456789Z container start abc123 (image=busybox, name=web)\n');
      expect(formatEvent({ ...event, actor: { id: 'x', attributes: {} }, timeNano: '' })).toBe('2026-11-28T12:00:00.000000000Z container start x\n');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
