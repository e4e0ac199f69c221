import { messageOf } from '@berth/errors';
import { isKept, keepDeclared, modelOf } from './declared-state.js';
import type { Declaration } from './engine.js';
import { Label } from './labels.js';
import { describeGap, type WatcherGap } from './unrestorable.js';
import type { ComposeSession } from './session.js';

/**
 * The compose watcher: keeps every declared project (state `running`) as declared. It follows the
 * declarations (Compose.WatchProjects) and the platform's container events (Events.Subscribe,
 * projects' `destroy`, `die` and `stop`), and reconciles a project shortly after anything happened
 * to it, plus every `resyncMs` as a backstop (a missed event, a platform restart). Reconciles of
 * one project never overlap; a change during one schedules another. It talks only to the gateway.
 */

export interface WatcherOptions {
  /** Full reconcile of every declared project this often. */
  resyncMs?: number;
  /** Wait this long after an event before reconciling (events come in bursts). */
  debounceMs?: number;
  /** Wait this long before reconnecting a stream the gateway closed. */
  retryMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

const reactTo = new Set(['destroy', 'die', 'stop', 'kill', 'oom']);

export class ComposeWatcher {
  private readonly declared = new Map<string, Declaration>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Per project, what it could not bring back last time (logged once, again when it changes). */
  private readonly gaps = new Map<string, string>();
  private readonly resyncMs: number;
  private readonly debounceMs: number;
  private readonly retryMs: number;
  private readonly log: NonNullable<WatcherOptions['log']>;

  constructor(
    private readonly s: ComposeSession,
    options: WatcherOptions = {},
  ) {
    this.resyncMs = options.resyncMs ?? 30_000;
    this.debounceMs = options.debounceMs ?? 250;
    this.retryMs = options.retryMs ?? 1_000;
    this.log = options.log ?? (() => undefined);
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const resync = setInterval(() => {
      for (const name of this.declared.keys()) this.schedule(name, 0);
    }, this.resyncMs);
    try {
      await Promise.all([this.followDeclarations(signal), this.followEvents(signal)]);
    } finally {
      clearInterval(resync);
      for (const t of this.timers.values()) clearTimeout(t);
      await Promise.allSettled(this.running.values());
    }
  }

  /** Keeps a stream open for as long as the watcher runs, reopening it when the gateway drops it. */
  private async forever(signal: AbortSignal, what: string, follow: () => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      try {
        await follow();
      } catch (err) {
        if (signal.aborted) return;
        this.log('warn', `${what} stream ended, reconnecting`, { error: messageOf(err) });
      }
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
  }

  private followDeclarations(signal: AbortSignal): Promise<void> {
    return this.forever(signal, 'declarations', async () => {
      for await (const change of this.s.engine.watchDeclarations(signal)) {
        if (change.operation === 'delete' || !change.declaration) {
          this.declared.delete(change.name);
          this.gaps.delete(change.name);
          continue;
        }
        this.declared.set(change.name, change.declaration);
        if (isKept(change.declaration)) this.schedule(change.name);
      }
    });
  }

  private followEvents(signal: AbortSignal): Promise<void> {
    return this.forever(signal, 'events', async () => {
      const events = this.s.engine.events({ filters: [{ key: 'type', value: 'container' }, { key: 'label', value: Label.project }], signal });
      for await (const e of events) {
        const project = e.actor?.attributes?.[Label.project];
        if (!project || e.actor?.attributes?.[Label.oneoff] === 'True' || !reactTo.has(e.action.split(':')[0]!)) continue;
        if (this.declared.has(project)) this.schedule(project);
      }
    });
  }

  private schedule(name: string, delay = this.debounceMs): void {
    if (this.timers.has(name)) return;
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        void this.reconcile(name);
      }, delay),
    );
  }

  /** Logs the services a project misses and cannot get back, once per change (reconciles repeat every 30 s). */
  private reportGaps(project: string, gaps: WatcherGap[]): void {
    const text = gaps.map((g) => describeGap(project, g)).join('; ');
    if ((this.gaps.get(project) ?? '') === text) return;
    if (text === '') this.gaps.delete(project);
    else {
      this.gaps.set(project, text);
      for (const g of gaps) this.log('warn', describeGap(project, g), { project, service: g.service, missing: g.missing });
    }
  }

  /** One reconcile of a project, from its declaration as stored now. */
  async reconcile(name: string): Promise<void> {
    if (this.running.has(name)) {
      this.again.add(name);
      return this.running.get(name);
    }
    const work = (async () => {
      try {
        const d = await this.s.engine.getDeclaration(name);
        if (!isKept(d)) return;
        const stillKept = async () => isKept(await this.s.engine.getDeclaration(name));
        const { created, gaps } = await keepDeclared(this.s, modelOf(d), stillKept);
        if (created.length > 0) this.log('info', `brought back ${created.join(', ')}`, { project: name, containers: created });
        this.reportGaps(name, gaps);
      } catch (err) {
        this.log('error', `cannot keep project ${name} as declared: ${messageOf(err)}`, { project: name });
      }
    })();
    this.running.set(name, work);
    await work;
    this.running.delete(name);
    if (this.again.delete(name)) this.schedule(name);
  }
}
