import { describe, expect, it } from 'vitest';
import { parseJoinUrls } from './cluster-join.js';

describe('--join URLs', () => {
  it('are nats://HOST:PORT, comma-separated', () => {
    expect(parseJoinUrls('nats://10.0.0.1:4222')).toEqual(['nats://10.0.0.1:4222']);
    expect(parseJoinUrls('nats://10.0.0.1:4222, nats://first.example:4223')).toEqual(['nats://10.0.0.1:4222', 'nats://first.example:4223']);
    expect(() => parseJoinUrls('')).toThrow('Invalid --join "": expected nats://HOST:PORT[,…]');
    expect(() => parseJoinUrls('10.0.0.1:4222')).toThrow('Invalid --join "10.0.0.1:4222": expected nats://HOST:PORT');
    expect(() => parseJoinUrls('nats://10.0.0.1')).toThrow('Invalid --join "nats://10.0.0.1": expected nats://HOST:PORT');
    expect(() => parseJoinUrls('nats://10.0.0.1:70000')).toThrow('Invalid --join "nats://10.0.0.1:70000"');
  });
});
