import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, errorFromGrpc, grpcCodeOf, httpStatusOf, InternalError } from './index.js';

describe('error classes', () => {
  it('map to gRPC codes and back without losing the class or the message', () => {
    const err = new NotFoundError('No such container: web');
    expect(grpcCodeOf(err)).toBe(5);
    const back = errorFromGrpc(grpcCodeOf(err), err.message);
    expect(back).toBeInstanceOf(NotFoundError);
    expect(back.message).toBe('No such container: web');
    expect(errorFromGrpc(grpcCodeOf(new ConflictError('x')), 'x')).toBeInstanceOf(ConflictError);
  });

  it('treat unknown errors as internal', () => {
    expect(grpcCodeOf(new Error('boom'))).toBe(13);
    expect(httpStatusOf(new TypeError('x'))).toBe(500);
    expect(errorFromGrpc(2, 'unknown')).toBeInstanceOf(InternalError);
  });

  it('keep the cause', () => {
    const cause = new Error('ENOENT');
    expect(new NotFoundError('No such image: x', { cause }).cause).toBe(cause);
  });
});
