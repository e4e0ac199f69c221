import { describe, expect, it } from 'vitest';
import { isInsecure, isLoopback, registryHost } from './registry-host.js';
import { withQuery } from './push.js';

describe('registryHost', () => {
  it('serves docker.io from registry-1.docker.io', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('index.docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('ghcr.io')).toBe('ghcr.io');
    expect(registryHost('localhost:5000')).toBe('localhost:5000');
  });

  it('maps the platform registry short name to the address given, and never lets it through unmapped', () => {
    expect(registryHost('berth.localhost', { 'berth.localhost': '127.0.0.1:5003' })).toBe('127.0.0.1:5003');
    expect(registryHost('Berth.LocalHost', { 'berth.localhost': '127.0.0.1:5003' })).toBe('127.0.0.1:5003');
    expect(registryHost('berth.localhost:5000', { 'berth.localhost': '127.0.0.1:5003' })).toBe('berth.localhost:5000');
    expect(() => registryHost('berth.localhost')).toThrow(
      'Registry "berth.localhost" is the short name of a Berth host\'s platform registry, whose address was not given here: use the address "berth info" prints (e.g. 127.0.0.1:5000)',
    );
  });
});

describe('isLoopback / isInsecure', () => {
  it('treats localhost, 127.0.0.0/8 and ::1 as loopback, with or without a port', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:443', '[::1]:5000', '::1', 'registry.localhost:80']) {
      expect(isLoopback(h), h).toBe(true);
    }
    for (const h of ['10.0.0.1:5000', 'example.com', '128.0.0.1', '[2001:db8::1]:5000', 'localhost.example.com']) {
      expect(isLoopback(h), h).toBe(false);
    }
  });

  it('adds the hosts listed as insecure, by host or host:port', () => {
    expect(isInsecure('10.0.0.1:5000')).toBe(false);
    expect(isInsecure('10.0.0.1:5000', ['10.0.0.1:5000'])).toBe(true);
    expect(isInsecure('10.0.0.1:5000', ['10.0.0.1'])).toBe(true);
    expect(isInsecure('10.0.0.1:5000', ['http://10.0.0.1:5000/'])).toBe(true);
    expect(isInsecure('10.0.0.1:5001', ['10.0.0.1:5000'])).toBe(false);
  });
});

describe('withQuery', () => {
  it('adds a parameter to relative and absolute upload locations, keeping the others', () => {
    expect(withQuery('/v2/a/blobs/uploads/u1?_state=x', 'digest', 'sha256:ab')).toBe('/v2/a/blobs/uploads/u1?_state=x&digest=sha256%3Aab');
    expect(withQuery('https://r.example/v2/a/blobs/uploads/u1', 'digest', 'sha256:ab')).toBe('https://r.example/v2/a/blobs/uploads/u1?digest=sha256%3Aab');
  });
});
