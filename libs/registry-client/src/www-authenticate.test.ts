import { describe, expect, it } from 'vitest';
import { parseChallenges } from './www-authenticate.js';

describe('parseChallenges', () => {
  it('parses a Bearer challenge with quoted parameters', () => {
    expect(
      parseChallenges(['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"']),
    ).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
  });

  it('parses Basic, case-insensitive names, token values and escapes', () => {
    expect(parseChallenges(['BASIC Realm="My \\"Registry\\""'])).toEqual([{ scheme: 'basic', params: { realm: 'My "Registry"' } }]);
    expect(parseChallenges(['Bearer realm=token-server, error=insufficient_scope'])).toEqual([
      { scheme: 'bearer', params: { realm: 'token-server', error: 'insufficient_scope' } },
    ]);
  });

  it('splits several challenges in one header and across headers', () => {
    expect(parseChallenges(['Negotiate abc==, Basic realm="a", Bearer realm="b",service="s"', 'Basic realm="c"'])).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'b', service: 's' } },
      { scheme: 'basic', params: { realm: 'c' } },
    ]);
  });

  it('keeps scopes with several actions and spaces inside quotes', () => {
    const [c] = parseChallenges(['Bearer realm="r",scope="repository:a/b:pull,push repository:c:pull"']);
    expect(c!.params.scope).toBe('repository:a/b:pull,push repository:c:pull');
  });

  it('returns nothing for an empty header', () => {
    expect(parseChallenges([''])).toEqual([]);
  });
});
