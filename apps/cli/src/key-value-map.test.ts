import { describe, expect, it } from 'vitest';
import { keyValueMap } from './key-value-map.js';

describe('keyValueMap', () => {
  it('splits at the first separator, gives a bare key the empty value and lets a later key win', () => {
    expect(keyValueMap(['a=1', 'b', 'c=x=y', 'a=2'])).toEqual({ a: '2', b: '', c: 'x=y' });
  });

  it('takes another separator (tmpfs: path:options)', () => {
    expect(keyValueMap(['/run:size=64m,mode=1777', '/tmp'], ':')).toEqual({ '/run': 'size=64m,mode=1777', '/tmp': '' });
  });
});
