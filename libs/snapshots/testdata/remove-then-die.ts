/**
 * Run by overlay-snapshotter.test.ts as a separate process: makes the active snapshot `doomed`
 * with files in it, removes it, and kills itself with SIGKILL as soon as `remove` has answered, as
 * an agent killed right after a `rm`: the snapshot is gone from the database, its dir renamed to
 * `removed-<id>`, and the background deletion has not run (the kill comes in the same tick, before
 * any of its callbacks). Prints the snapshot's dir before it dies.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OverlaySnapshotter } from '../src/index.js';

const [root] = process.argv.slice(2);
const snapshotter = new OverlaySnapshotter(root);
await snapshotter.prepare('doomed');
const upper = snapshotter.upperDir('doomed');
for (let i = 0; i < 20; i++) {
  mkdirSync(join(upper, `d${i}`));
  writeFileSync(join(upper, `d${i}`, 'f'), 'x'.repeat(4096));
}
process.stdout.write(dirname(upper) + '\n');
await snapshotter.remove('doomed');
process.kill(process.pid, 'SIGKILL');
