import { runMain } from './run-main.js';

// The `berth` executable as TypeScript (the ./berth launcher runs it through tsx while a source is
// newer than the bundle; the bundle's entry is launch/launch.ts).
await runMain();
