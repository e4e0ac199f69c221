import { Writable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { isBerthError, NotFoundError } from '@berth/errors';
import { callFailureOf, errorOfCallFailure, writeMessage } from './grpc.js';

describe('callFailureOf / errorOfCallFailure', () => {
  it('carries an error as its status would: class, message and Berth code; others as internal errors', () => {
    const failure = callFailureOf(new NotFoundError('exec: "nope": executable file not found in $PATH', { code: 'COMMAND_NOT_FOUND' }));
    expect(failure).toEqual({ status: 5, message: 'exec: "nope": executable file not found in $PATH', code: 'COMMAND_NOT_FOUND' });
    const back = errorOfCallFailure(failure);
    expect(back).toBeInstanceOf(NotFoundError);
    expect(back).toMatchObject({ message: 'exec: "nope": executable file not found in $PATH', code: 'COMMAND_NOT_FOUND' });
    const internal = errorOfCallFailure(callFailureOf(new Error('disk on fire')));
    expect(isBerthError(internal) && internal.kind).toBe('internal');
    expect(internal).toMatchObject({ message: 'Internal error: disk on fire', code: undefined });
  });
});

describe('writeMessage', () => {
  it('resolves at once while the stream takes more, and only after drain once its buffer is full', async () => {
    const written: string[] = [];
    let release: (() => void) | undefined;
    // A slow consumer: each write completes only when the test releases it; one message fills the buffer.
    const slow = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(chunk: string, _encoding, done) {
        written.push(chunk);
        release = done;
      },
    });
    const call = slow as unknown as grpc.ClientWritableStream<string>;
    let resolved = false;
    const first = writeMessage(call, 'a').then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual(['a']);
    expect(resolved).toBe(false);
    release!();
    await first;
    expect(resolved).toBe(true);
  });

  it('resolves at once when the buffer has room', async () => {
    const roomy = new Writable({ objectMode: true, highWaterMark: 16, write: (_chunk, _encoding, done) => done() });
    await expect(writeMessage(roomy as unknown as grpc.ClientWritableStream<string>, 'a')).resolves.toBeUndefined();
  });
});
