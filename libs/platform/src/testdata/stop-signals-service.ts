/**
 * A service for stop-signals.test.ts: `stopOnSignals` with a stop that takes argv[2] ("quick", "hang",
 * or "fifo": quick, but with a file system call on libuv's thread pool that never returns, the
 * opening of argv[3], a FIFO nobody writes to). Prints "ready" once its handlers are in place.
 */
import { open } from 'node:fs/promises';
import { serviceLogger } from '@berth/log';
import { stopOnSignals } from '../stop-signals.js';

const [mode, fifo] = process.argv.slice(2);
if (mode === 'fifo') void open(fifo!, 'r');
stopOnSignals(() => (mode === 'hang' ? new Promise<void>(() => {}) : Promise.resolve()), {
  log: serviceLogger('stop-test', { fd: 1 }),
  graceMs: 1_000,
});
setInterval(() => {}, 1_000); // a service's event loop has work: NATS, gRPC
process.stdout.write('ready\n');
