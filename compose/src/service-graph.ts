import type { Project } from '@berth/compose';

/**
 * Runs one task per service in dependency order, independent services in parallel (compose v2's
 * `graphTraversal`): `up` visits dependencies before the services that need them, `down` the other
 * way round. A failed task stops the visit: tasks not started yet never start, running ones finish,
 * and the first error is thrown.
 */
export async function visitServices(
  project: Pick<Project, 'services'>,
  services: string[],
  task: (service: string) => Promise<void>,
  options: { reverse?: boolean } = {},
): Promise<void> {
  const selected = new Set(services);
  // Edges among the selected services only: a dependency outside the run is not waited for.
  const before = new Map<string, string[]>();
  for (const name of selected) {
    const deps = Object.keys(project.services[name]?.depends_on ?? {}).filter((d) => selected.has(d));
    before.set(name, deps);
  }
  if (options.reverse) {
    const reversed = new Map<string, string[]>([...selected].map((n) => [n, []]));
    for (const [name, deps] of before) for (const d of deps) reversed.get(d)!.push(name);
    before.clear();
    for (const [k, v] of reversed) before.set(k, v);
  }
  const done = new Map<string, Promise<void>>();
  let failure: { error: unknown } | undefined;
  const visit = (name: string): Promise<void> => {
    let running = done.get(name);
    if (!running) {
      running = (async () => {
        await Promise.all(before.get(name)!.map(visit));
        if (failure) return;
        try {
          await task(name);
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      })();
      // The error is reported once, below; other waiters only need to know the visit ended.
      running.catch(() => undefined);
      done.set(name, running);
    }
    return running;
  };
  await Promise.allSettled([...selected].sort().map(visit));
  if (failure) throw failure.error;
}
