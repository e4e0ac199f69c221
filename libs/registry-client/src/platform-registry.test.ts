import { describe, expect, it } from 'vitest';
import { credentialsFor } from './platform-registry.js';

describe('credentialsFor', () => {
  const platform = { address: '127.0.0.1:5000', credentials: { username: 'berth', password: 'secret' } };

  it("uses what the request brings, else the platform registry's credentials for that registry only", () => {
    const mine = { username: 'me', password: 'pw' };
    expect(credentialsFor('127.0.0.1:5000', mine, platform)).toBe(mine);
    expect(credentialsFor('127.0.0.1:5000', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('127.0.0.1:5000', { username: '', password: '' }, platform)).toBe(platform.credentials);
    expect(credentialsFor('localhost:5000', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('[::1]:5000', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('berth.localhost', undefined, platform)).toBe(platform.credentials); // its short name
    expect(credentialsFor('Berth.Localhost', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('127.0.0.1:5001', undefined, platform)).toBeUndefined();
    expect(credentialsFor('registry.example.com', undefined, platform)).toBeUndefined();
    expect(credentialsFor('127.0.0.1:5000', undefined, undefined)).toBeUndefined();
  });
});
