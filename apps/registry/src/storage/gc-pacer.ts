import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps a large upload from leaving the registry's memory high for good.
 *
 * Node reads a request body into a fresh 64 KiB buffer per socket read (malloc'd, outside the V8
 * heap). The registry hashes and writes each at once, so they are garbage immediately, but V8 frees
 * them only when its young generation fills, and an upload allocates few JS objects: tens of MiB of
 * dead buffers pile up in glibc's heap before a scavenge frees them, and glibc keeps those pages
 * (freed in the middle of its heap, they are never returned). Measured after one 256 MiB push:
 * glibc's `[heap]` mapping was 34-38 MiB; with a scavenge every 8 MiB 12-14 MiB, every 2 MiB
 * 6 MiB (3 MiB at start), the push's CPU time the same within noise.
 *
 * So: a scavenge (minor GC, well under a millisecond with so little alive) every 2 MiB received.
 * `gc` is exposed for this alone (`--expose-gc` set at run time, the function taken from a fresh
 * context, so nothing else sees it); where V8 refuses, pacing is simply off.
 */
const EVERY = 2 * 1024 * 1024;

type Gc = (options?: { type: 'minor' | 'major' }) => void;

let gc: Gc | null | undefined;
let received = 0;

function exposedGc(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null; // a runtime without the flag: uploads work the same, memory is just less tight
    }
  }
  return gc;
}

/** Counts bytes received; every 8 MiB, runs a scavenge. */
export function noteReceived(bytes: number): void {
  received += bytes;
  if (received < EVERY) return;
  received = 0;
  exposedGc()?.({ type: 'minor' });
}
