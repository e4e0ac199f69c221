import type { Engine } from './engine.js';
import type { HealthWaiter } from './health.js';
import type { ProgressSink } from './progress.js';

/**
 * What every controller operation works with: the platform, health, and where progress and
 * warnings go. The CLI makes one per command; the watcher one for its lifetime.
 */
export interface ComposeSession {
  engine: Engine;
  health: HealthWaiter;
  progress: ProgressSink;
  /** A non-fatal finding, one sentence (`WARN[0000] …` in the CLI). */
  warn(text: string): void;
}
