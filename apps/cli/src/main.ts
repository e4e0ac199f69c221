import { runMain } from './run-main.js';

// The `berth` executable as TypeScript (the ./berth launcher runs it through tsx while a file the
// bundle was made from is newer than it; the bundle's entry is launch/launch.ts).
await runMain();
