import { Duplex } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ContainerManager } from '@berth/containers';
import type { StreamInput, StreamOutput } from '@berth/proto';
import { waitUntil } from '@berth/testing';
import { containersService } from './containers-service.js';

/**
 * Attach with `start` (what `berth run -t` and RunAttached use), against a manager whose start the
 * test releases: when the client's terminal size arrives, relative to the start.
 */

type Call = grpc.ServerDuplexStream<StreamInput, StreamOutput>;

/** A server-side call: what the test pushes is what the client sent; what the service writes is kept. */
function fakeCall(): { call: Call; sent: StreamOutput[]; receive: (m: StreamInput) => Promise<void> } {
  const sent: StreamOutput[] = [];
  const stream = new Duplex({
    objectMode: true,
    read() {},
    write(chunk: StreamOutput, _encoding, done) {
      sent.push(chunk);
      done();
    },
  });
  const call = Object.assign(stream, { cancelled: false }) as unknown as Call;
  // Resolves once the service's own listener has had the message: listeners run in the order added.
  const receive = (m: StreamInput) =>
    new Promise<void>((resolve) => {
      const seen = (got: StreamInput) => {
        if (got !== m) return;
        call.off('data', seen);
        resolve();
      };
      call.on('data', seen);
      stream.push(m);
    });
  return { call, sent, receive };
}

/** A manager of one created container `c1` with a terminal; its start waits for `release`. */
function pendingStartManager() {
  const resizes: string[] = [];
  let phase = 'before the start';
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let startCalled = false;
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  const manager = {
    resolve: (ref: string) => ref,
    get: () => ({ HostConfig: { AutoRemove: false } }),
    attach: () =>
      Promise.resolve({
        write: () => undefined,
        closeStdin: () => undefined,
        resize: (rows: number, cols: number) => resizes.push(`${rows}x${cols} ${phase}`),
        done: Promise.resolve(),
      }),
    wait: () => exited,
    start: async () => {
      startCalled = true;
      await released;
      phase = 'after the start';
    },
  } as unknown as ContainerManager;
  return { manager, resizes, release, exit, startCalled: () => startCalled };
}

describe('Containers.Attach with start', () => {
  it('applies a terminal size sent before the start once, after it; one sent later at once', async () => {
    const m = pendingStartManager();
    const { call, sent, receive } = fakeCall();
    containersService(m.manager).attach(call);
    await receive({ input: { $case: 'attach', value: { container: 'c1', stdin: false, logs: false, stream: true, start: true, create: undefined } } });
    await waitUntil('the start to be called', () => m.startCalled());
    await receive({ input: { $case: 'resize', value: { rows: 30, cols: 100 } } });
    expect(m.resizes).toEqual([]); // the console exists already, but docker's client sizes it after the start
    m.release();
    await waitUntil('the size applied', () => m.resizes.length > 0);
    await receive({ input: { $case: 'resize', value: { rows: 40, cols: 120 } } });
    expect(m.resizes).toEqual(['30x100 after the start', '40x120 after the start']);
    m.exit(3);
    await waitUntil('the exit code', () => sent.some((s) => s.output?.$case === 'exitCode'));
    expect(sent.map((s) => s.output)).toEqual([{ $case: 'exitCode', value: 3 }]);
  });

  it('applies sizes at once when attaching to a container without starting it', async () => {
    const m = pendingStartManager();
    const { call, receive } = fakeCall();
    containersService(m.manager).attach(call);
    await receive({ input: { $case: 'attach', value: { container: 'c1', stdin: false, logs: false, stream: true, start: false, create: undefined } } });
    await receive({ input: { $case: 'resize', value: { rows: 30, cols: 100 } } });
    expect(m.resizes).toEqual(['30x100 before the start']);
    expect(m.startCalled()).toBe(false);
    m.exit(0);
  });
});
