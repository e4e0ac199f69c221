import { describe, expect, it } from 'vitest';
import { parseMount } from './run-mount.js';

describe('parseMount', () => {
  it('keeps the plain keys as they are, under their aliases too', () => {
    expect(parseMount('type=secret,id=token,dst=/run/t,uid=1000,gid=100,mode=0440,env=TOKEN')).toMatchObject({
      type: 'secret',
      id: 'token',
      target: '/run/t',
      uid: '1000',
      gid: '100',
      mode: '0440',
      env: 'TOKEN',
    });
    expect(parseMount('src=ctx,destination=/mnt,from=build')).toMatchObject({ type: 'bind', source: 'ctx', target: '/mnt', from: 'build', readonly: true });
    expect(parseMount('type=tmpfs,target=/tmp,size=64m')).toMatchObject({ target: '/tmp', size: '64m' });
  });

  it('refuses an unknown key, quoting it', () => {
    expect(() => parseMount('type=bind,target=/x,constructor=1')).toThrow("unexpected key 'constructor' in 'constructor=1'");
  });
});
