import { appendFile } from 'node:fs/promises';
import { timedCalls } from '@berth/log';
import type { BuildWorker } from '@berth/worker';

/** Time spent in one phase of a build, summed over its occurrences. */
export interface PhaseTotal {
  ms: number;
  count: number;
}

/**
 * Per-phase timings of one build (context sync, cache lookups, each worker call, layer packing…),
 * for finding where a build's time goes. Phases may overlap (layers compress while steps run), so
 * the totals do not add up to the wall time. Kept only when the builder is asked to
 * (`BERTH_BUILD_TRACE=<file>`: one JSON line per build appended there); otherwise every method is
 * a no-op beyond calling what it times.
 */
export class PhaseTrace {
  readonly #start = performance.now();
  readonly #phases = new Map<string, PhaseTotal>();
  readonly enabled: boolean;

  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  /** Adds `ms` to phase `name`. */
  add(name: string, ms: number): void {
    if (!this.enabled) return;
    const total = this.#phases.get(name) ?? { ms: 0, count: 0 };
    total.ms += ms;
    total.count++;
    this.#phases.set(name, total);
  }

  /** Runs `fn`, adding its duration (until it settles) to phase `name`. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return fn();
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  /** Milliseconds since the trace started, and every phase's total (rounded to 0.1 ms). */
  summary(): { wallMs: number; phases: Record<string, PhaseTotal> } {
    const round = (n: number) => Math.round(n * 10) / 10;
    const phases = Object.fromEntries([...this.#phases].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => [k, { ms: round(v.ms), count: v.count }]));
    return { wallMs: round(performance.now() - this.#start), phases };
  }

  /** Appends the summary as one JSON line to `file` (when tracing). */
  async write(file: string | undefined, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.enabled || !file) return;
    await appendFile(file, `${JSON.stringify({ ...extra, ...this.summary() })}\n`, { mode: 0o600 });
  }
}

/**
 * `worker` with every promise-returning call of its roles timed as phase `worker.<role>.<call>`
 * (streams, such as a blob's read stream, are passed through untimed). The same worker when the
 * trace is off.
 */
export function tracedWorker(worker: BuildWorker, trace: PhaseTrace): BuildWorker {
  if (!trace.enabled) return worker;
  const wrap = <T extends object>(role: string, target: T): T =>
    timedCalls(target, (call, ms) => trace.add(`worker.${role}.${call}`, ms), { promisesOnly: true });
  return {
    content: wrap('content', worker.content),
    snapshots: wrap('snapshots', worker.snapshots),
    leases: wrap('leases', worker.leases),
    images: wrap('images', worker.images),
    tasks: wrap('tasks', worker.tasks),
  };
}
