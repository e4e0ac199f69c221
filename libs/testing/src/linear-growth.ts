/**
 * How the cost of `run` grows with its input, for tests that keep generated worst cases linear
 * without absolute timings: `make(n)` and `make(n * 8)`, each best of three runs in this process's
 * CPU time (a busy machine only ever adds time, and waiting for a core is not counted), the smaller
 * after a warm-up run and taken as at least 5 ms (below that, timer and GC noise rule). Linear code
 * costs near 8× — quadratic near 64×: `large < small * LINEAR_BOUND` tells them apart on a loaded
 * machine. `run` may throw what `expected` accepts (an input refused for its depth still costs).
 */
export const LINEAR_BOUND = 32;

export interface Growth {
  small: number;
  large: number;
  /** `n → small ms, 8n → large ms`, for the assertion's message. */
  message: string;
}

export function linearGrowth<T>(run: (input: T) => void, make: (n: number) => T, n: number, expected: (err: unknown) => boolean = () => false): Growth {
  const cpuMs = (input: T) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = process.cpuUsage();
      try {
        run(input);
      } catch (err) {
        if (!expected(err)) throw err;
      }
      const used = process.cpuUsage(start);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    return best;
  };
  const smallInput = make(n);
  const largeInput = make(n * 8);
  cpuMs(smallInput); // warm up the JIT
  const small = Math.max(cpuMs(smallInput), 5);
  const large = cpuMs(largeInput);
  return { small, large, message: `${n} → ${small.toFixed(1)} ms, ${n * 8} → ${large.toFixed(1)} ms` };
}
