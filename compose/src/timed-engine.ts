import { timedCalls } from '@berth/log';
import type { Engine } from './engine.js';

/**
 * Wraps any Engine to measure it: every call's count and total and slowest time per method, for
 * profiling `up`/`down` (`BERTH_COMPOSE_TIMINGS=1 berth compose up -d` prints the summary).
 * Streaming methods are counted once, as the time to the first item.
 */
export interface MethodTiming {
  calls: number;
  totalMs: number;
  maxMs: number;
}

export function timedEngine(engine: Engine): { engine: Engine; timings: Map<string, MethodTiming> } {
  const timings = new Map<string, MethodTiming>();
  const record = (method: string, ms: number) => {
    const t = timings.get(method) ?? { calls: 0, totalMs: 0, maxMs: 0 };
    t.calls++;
    t.totalMs += ms;
    t.maxMs = Math.max(t.maxMs, ms);
    timings.set(method, t);
  };
  return { engine: timedCalls(engine, record), timings };
}

/** The summary table: method, calls, total, mean, max (slowest total first). */
export function formatTimings(timings: Map<string, MethodTiming>): string {
  const rows = [...timings.entries()].sort((a, b) => b[1].totalMs - a[1].totalMs);
  return rows
    .map(([m, t]) => `${m.padEnd(20)} ${String(t.calls).padStart(4)} calls  total ${t.totalMs.toFixed(0).padStart(6)} ms  mean ${(t.totalMs / t.calls).toFixed(0).padStart(5)} ms  max ${t.maxMs.toFixed(0).padStart(5)} ms`)
    .join('\n');
}
