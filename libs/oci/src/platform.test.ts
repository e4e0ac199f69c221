import { describe, expect, it } from 'vitest';
import { currentPlatform, formatPlatform, matchPlatform, parsePlatform } from './index.js';

describe('platforms', () => {
  it('describes this host with Go names', () => {
    const p = currentPlatform();
    expect(p.os).toBe('linux');
    expect(p.architecture).toBe(process.arch === 'x64' ? 'amd64' : p.architecture);
  });

  it('parses and formats os/arch/variant', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
    expect(() => parsePlatform('amd64')).toThrow('Invalid platform "amd64": expected os/arch[/variant] in lowercase, e.g. "linux/amd64"');
  });

  it('matches index entries by os, architecture and variant', () => {
    const match = matchPlatform({ os: 'linux', architecture: 'arm64' });
    expect(match({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(match({ os: 'linux', architecture: 'amd64' })).toBe(false);
    expect(match({ os: 'windows', architecture: 'arm64' })).toBe(false);
    expect(match(undefined)).toBe(false);
    const armv7 = matchPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(armv7({ os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
    expect(armv7({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(true);
    expect(matchPlatform()(currentPlatform())).toBe(true);
  });
});
