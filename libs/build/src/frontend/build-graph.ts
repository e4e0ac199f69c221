import type { Dockerfile, Instruction, Stage } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import { at, valueExcerpt } from '../located.js';
import { StepEnv } from './step-env.js';

/** Which step implementation runs a node (one file per kind under steps/). */
export type StepKind = 'metadata' | 'run' | 'copy' | 'workdir';

/** One instruction of a stage. Its cache key is computed while solving (it chains on its inputs'). */
export interface StepNode {
  instruction: Instruction;
  kind: StepKind;
}

/** Where a stage starts: another stage of the Dockerfile, nothing, or an image. */
export type StageBase = { kind: 'stage'; index: number; name: string } | { kind: 'scratch' } | { kind: 'image'; name: string };

/** A stage as a subgraph: its base, its steps in order, and the stages it needs first. */
export interface StageNode {
  stage: Stage;
  base: StageBase;
  nodes: StepNode[];
  /**
   * Stages solved before this one, side by side: its base stage and those it copies from by a
   * name known before the build (a `--from=$ARG` is resolved when its COPY runs).
   */
  deps: number[];
}

/**
 * The build graph: the stages the target needs (others are left out, as BuildKit does), each a
 * subgraph of step nodes. Independent stages have no edge between them, so the solver runs them
 * in parallel.
 */
export interface BuildGraph {
  dockerfile: Dockerfile;
  /** By stage index; undefined for the stages the target does not need. */
  stages: Array<StageNode | undefined>;
  target: number;
}

const LAYER_KINDS: Record<string, StepKind> = { RUN: 'run', COPY: 'copy', ADD: 'copy', WORKDIR: 'workdir' };

export function stepKind(ins: Instruction): StepKind {
  return LAYER_KINDS[ins.kind] ?? 'metadata';
}

/**
 * Dockerfile → graph. `fromEnv` is the environment of FROM lines (automatic platform ARGs and meta
 * ARGs). InvalidArgumentError for an unknown target, or a stage that copies from itself.
 */
export function buildGraph(dockerfile: Dockerfile, options: { file: string; target?: string; fromEnv: Map<string, string> }): BuildGraph {
  const target = targetStage(dockerfile, options.file, options.target);
  const stages: Array<StageNode | undefined> = dockerfile.stages.map(() => undefined);
  const visit = (index: number) => {
    if (stages[index]) return;
    const node = stageNode(dockerfile, index, options);
    stages[index] = node;
    for (const dep of node.deps) visit(dep);
  };
  visit(target.index);
  return { dockerfile, stages, target: target.index };
}

/** The subgraph of stage `index` (also for a stage found late, through `COPY --from=$ARG`). */
export function stageNode(dockerfile: Dockerfile, index: number, options: { file: string; fromEnv: Map<string, string> }): StageNode {
  const stage = dockerfile.stages[index]!;
  const from = stage.from;
  const name = at(options.file, from, () => new StepEnv(options.fromEnv, dockerfile.directives.escape).word(from.image));
  const baseStage = stageByRef(dockerfile, name, stage.index);
  const base: StageBase = baseStage
    ? { kind: 'stage', index: baseStage.index, name }
    : name.toLowerCase() === 'scratch'
      ? { kind: 'scratch' }
      : { kind: 'image', name };
  const deps = new Set<number>(baseStage ? [baseStage.index] : []);
  for (const ins of stage.instructions) {
    if (ins.kind !== 'COPY' || !ins.from || ins.from.includes('$')) continue;
    at(options.file, ins, () => refuseSelfCopy(stage, ins.from!));
    const dep = stageByRef(dockerfile, ins.from, stage.index);
    if (dep) deps.add(dep.index);
  }
  return { stage, base, nodes: stage.instructions.map((instruction) => ({ instruction, kind: stepKind(instruction) })), deps: [...deps] };
}

/** `COPY --from=<the stage it is in>` can never work: refused before anything runs. */
export function refuseSelfCopy(stage: Stage, from: string): void {
  const lower = from.toLowerCase();
  if ((stage.name !== undefined && lower === stage.name) || (/^\d+$/.test(from) && Number(from) === stage.index)) {
    throw new InvalidArgumentError(`circular dependency detected on stage: "${valueExcerpt(from)}" (a stage cannot copy from itself)`);
  }
}

function targetStage(dockerfile: Dockerfile, file: string, target?: string): Stage {
  const stages = dockerfile.stages;
  if (!target) return stages.at(-1)!;
  const found = stages.find((s) => s.name === target.toLowerCase()) ?? (/^\d+$/.test(target) ? stages[Number(target)] : undefined);
  if (!found) throw new InvalidArgumentError(`Target stage "${valueExcerpt(target)}" could not be found in ${file}`);
  return found;
}

/** An earlier stage named (or numbered) `ref` from stage `before`, if any. */
export function stageByRef(dockerfile: Dockerfile, ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  const named = dockerfile.stages.find((s) => s.index < before && s.name === lower);
  if (named) return named;
  if (/^\d+$/.test(ref) && Number(ref) < before) return dockerfile.stages[Number(ref)];
  return undefined;
}
