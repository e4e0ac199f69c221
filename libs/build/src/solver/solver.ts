import { type Instruction, parseOnbuildTriggers } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import { stageByRef, stageNode, type StageNode, stepKind } from '../frontend/build-graph.js';
import { at, located, valueExcerpt } from '../located.js';
import { copyStep } from '../steps/copy-step.js';
import { metadataStep } from '../steps/metadata-step.js';
import { runStep } from '../steps/run-step.js';
import { workdirStep } from '../steps/workdir-step.js';
import { type BaseState, contextBase, resolveBase, resolveOrPull, type ResolvedImage } from './base-image.js';
import type { BuildRun } from './build-run.js';
import { StageEnv } from './stage-env.js';
import { EPOCH, type StageState } from './stage-state.js';

/**
 * Walks the build graph: each stage is solved once (later requests share the result), the stages
 * it needs first — its base stage and those it copies from — side by side, then its steps in
 * order, each a cache hit or run. Base images are resolved (or pulled) once per build.
 */
export class Solver {
  readonly #run: BuildRun;
  readonly #stages = new Map<number, Promise<StageState>>();
  readonly #images = new Map<string, Promise<ResolvedImage>>();

  constructor(run: BuildRun) {
    this.#run = run;
  }

  /** The result of stage `index`, solved once per build. */
  stage(index: number): Promise<StageState> {
    let result = this.#stages.get(index);
    if (!result) {
      result = this.#solveStage(index);
      this.#stages.set(index, result);
    }
    return result;
  }

  /** The image `name` names, resolved (or pulled) once per build. */
  image(name: string): Promise<ResolvedImage> {
    let image = this.#images.get(name);
    if (!image) {
      // A named context (`--build-context name=docker-image://ref`) stands for the image it names.
      const named = this.#run.namedContexts.get(name);
      if (named?.kind === 'dir') {
        // Only FROM takes a directory as a base (contextBase); an image is asked for elsewhere (ONBUILD's base, say).
        return Promise.reject(new InvalidArgumentError(`build context "${valueExcerpt(name)}" is a local directory, not an image`));
      }
      image = named?.kind === 'image' ? resolveOrPull(this.#run, named.ref).then((i) => ({ ...i, ref: named.ref })) : resolveOrPull(this.#run, name);
      this.#images.set(name, image);
    }
    return image;
  }

  /** Waits until every stage started has finished, however it ended (before the build's files go). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#stages.values()]);
  }

  async #solveStage(index: number): Promise<StageState> {
    const run = this.#run;
    const graph = run.graph;
    const node: StageNode = (graph.stages[index] ??= stageNode(graph.dockerfile, index, { file: run.file, fromEnv: run.fromEnv }));
    const { stage } = node;
    const from = stage.from;
    // The stages this one needs are started together; the base is awaited first (the steps need
    // its config), the others before the first step.
    const started = node.deps.map((i) => this.stage(i));
    for (const p of started) p.catch(() => undefined); // awaited below; this only marks them handled meanwhile
    let base: BaseState;
    try {
      const named = node.base.kind === 'image' ? run.namedContexts.get(node.base.name) : undefined;
      base =
        named?.kind === 'dir'
          ? await contextBase(run, (node.base as { name: string }).name, named.dir)
          : await resolveBase(node.base, { stage: (i) => this.stage(i), image: (n) => this.image(n) });
    } catch (err) {
      throw located(run.file, from, err);
    }

    // ONBUILD triggers of the base run first, then the base's triggers are dropped.
    const triggers = at(run.file, from, () => parseOnbuildTriggers(base.config.config?.OnBuild ?? [], { file: `ONBUILD of ${base.title}` }));
    if (base.config.config) delete base.config.config.OnBuild;
    const instructions: Instruction[] = [...triggers, ...stage.instructions];
    const multi = graph.dockerfile.stages.length > 1;
    const args = run.args.stageScope();
    const state: StageState = {
      stage,
      label: multi ? `${stage.name ?? `stage-${stage.index}`} ` : '',
      total: 1 + instructions.filter((i) => stepKind(i) !== 'metadata').length,
      position: 1,
      config: base.config,
      layers: base.layers,
      layerSizes: base.layerSizes,
      key: base.key,
      args,
      env: new StageEnv(() => state.config, args, { escape: graph.dockerfile.directives.escape }),
      cmdSet: false,
      baseLayers: base.root?.layers ?? base.layers.length,
      baseHistory: base.root?.history ?? base.config.history?.length ?? 0,
      baseId: base.id,
      noCache: Boolean(run.request.noCache) || run.noCacheFilter.has(stage.name ?? '') || run.noCacheFilter.has(String(stage.index)),
      created: base.config.created ?? EPOCH,
    };
    // Triggers may copy from stages too.
    for (const ins of triggers) {
      if (ins.kind !== 'COPY' || !ins.from || ins.from.includes('$')) continue;
      const dep = stageByRef(graph.dockerfile, ins.from, stage.index);
      if (dep) started.push(this.stage(dep.index));
    }
    await Promise.all(started);
    run.progress.vertex(`[${state.label}1/${state.total}] FROM ${base.title}`).done();
    for (const ins of instructions) {
      try {
        await this.#step(state, ins);
      } catch (err) {
        throw located(run.file, ins, err);
      }
    }
    return state;
  }

  async #step(state: StageState, ins: Instruction): Promise<void> {
    const run = this.#run;
    const env = state.env.step();
    switch (stepKind(ins)) {
      case 'metadata':
        return metadataStep(run, state, ins, env);
      case 'workdir':
        return workdirStep(run, state, (ins as Extract<Instruction, { kind: 'WORKDIR' }>).path, env);
      case 'run':
        return runStep(run, state, ins as Extract<Instruction, { kind: 'RUN' }>, env, this);
      case 'copy':
        return copyStep(run, state, ins as Extract<Instruction, { kind: 'COPY' | 'ADD' }>, env, this);
    }
  }
}
