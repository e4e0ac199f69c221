import { describe, expect, it } from 'vitest';
import { AccessPolicy } from './access-policy.js';
import { grantAccess, parseScopes } from './scope.js';

const policy = AccessPolicy.parse(['alice:', '  "*": ["*"]', 'bob:', '  "team/*": [pull, push]', '"*":', '  "public/*": [pull]'].join('\n'));

describe('AccessPolicy', () => {
  it('unions the rules of the user and of "*", with * globs spanning slashes', () => {
    expect([...policy.allowed('bob', 'team/a/b')].sort()).toEqual(['pull', 'push']);
    expect([...policy.allowed('bob', 'public/x')]).toEqual(['pull']);
    expect([...policy.allowed('carol', 'public/x')]).toEqual(['pull']);
    expect([...policy.allowed('carol', 'team/a')]).toEqual([]);
    expect([...policy.allowed('alice', 'anything')].sort()).toEqual(['delete', 'pull', 'push']);
    expect([...policy.allowed(undefined, 'public/x')]).toEqual([]);
  });

  it('rejects malformed files with the offending entry', () => {
    expect(() => AccessPolicy.parse('bob:\n  "x": [fly]', { source: 'acl.yaml' })).toThrow(
      'Invalid "acl.yaml": actions of "bob" on "x" must be a list of pull, push, delete or *',
    );
  });

  it('grants the intersection of requested scopes and the policy', () => {
    const requested = parseScopes(['repository:team/app:pull,push,delete repository(plugin):public/p:push,pull', 'registry:catalog:*', 'junk']);
    expect(grantAccess(policy, 'bob', requested)).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'public/p', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(grantAccess(new AccessPolicy(undefined, { anonymousPull: true }), undefined, requested)).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull'] },
      { type: 'repository', name: 'public/p', actions: ['pull'] },
    ]);
  });
});
