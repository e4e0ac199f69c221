import type { ContainerSummary } from '@berth/proto';
import type { ContainerEngine } from './engine.js';
import { Label, projectFilter } from './labels.js';

/** One container of a project, as its labels describe it. */
export interface ObservedContainer {
  id: string;
  /** Without the slash. */
  name: string;
  service: string;
  number: number;
  configHash: string;
  /** The image id it was created from (`com.docker.compose.image`), '' when unknown. */
  imageId: string;
  oneoff: boolean;
  /** `running`, `exited`, `created`, `paused`, `restarting`, `dead`, `removing`. */
  state: string;
  status: string;
  created: number;
  labels: Record<string, string>;
  summary: ContainerSummary;
}

export function observedContainer(c: ContainerSummary): ObservedContainer {
  const labels = c.labels ?? {};
  return {
    id: c.id,
    name: (c.names[0] ?? '').replace(/^\//, ''),
    service: labels[Label.service] ?? '',
    number: Number(labels[Label.containerNumber] ?? 0) || 0,
    configHash: labels[Label.configHash] ?? '',
    imageId: labels[Label.image] ?? '',
    oneoff: labels[Label.oneoff] === 'True',
    state: c.state,
    status: c.status,
    created: c.created,
    labels,
    summary: c,
  };
}

/** Every container (any state) of the project, one-off ones included, by container number. */
export async function projectContainers(engine: ContainerEngine, project: string, options: { oneoff?: boolean } = {}): Promise<ObservedContainer[]> {
  const list = await engine.listContainers({ all: true, labels: [projectFilter(project)] });
  return list
    .map(observedContainer)
    .filter((c) => options.oneoff === undefined || c.oneoff === options.oneoff)
    .sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number || a.created - b.created);
}

/** The containers of each service (not one-off ones). */
export function byService(containers: ObservedContainer[]): Map<string, ObservedContainer[]> {
  const out = new Map<string, ObservedContainer[]>();
  for (const c of containers) {
    if (c.oneoff) continue;
    const list = out.get(c.service) ?? [];
    list.push(c);
    out.set(c.service, list);
  }
  return out;
}

/** compose's short container name in logs: the name without the `<project>-` prefix. */
export function shortName(project: string, name: string): string {
  return name.startsWith(`${project}-`) ? name.slice(project.length + 1) : name;
}
