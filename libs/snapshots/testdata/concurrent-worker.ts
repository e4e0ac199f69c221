/**
 * Run by overlay-snapshotter.test.ts as a separate process: builds a chain of `count` committed
 * snapshots named `<prefix>-<i>` and competes for the shared keys `race-<i>`. Prints the race keys
 * it won as JSON.
 */
import { AlreadyExistsError } from '@berth/errors';
import { OverlaySnapshotter } from '../src/index.js';

const [root, prefix, count] = process.argv.slice(2);
const snapshotter = new OverlaySnapshotter(root);
const won: string[] = [];
for (let i = 0; i < Number(count); i++) {
  await snapshotter.prepare(`${prefix}-${i}-active`, i === 0 ? undefined : `${prefix}-${i - 1}`);
  await snapshotter.commit(`${prefix}-${i}`, `${prefix}-${i}-active`);
  try {
    await snapshotter.prepare(`race-${i}`);
    won.push(`race-${i}`);
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
}
snapshotter.close();
process.stdout.write(JSON.stringify(won));
