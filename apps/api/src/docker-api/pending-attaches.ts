import type { ClientDuplexStream } from '@grpc/grpc-js';
import { ConflictError, NotFoundError } from '@berth/errors';
import { fromServiceError, unary, type ContainersClient, type StreamInput, type StreamOutput } from '@berth/proto';

/**
 * An attached client (docker's hijacked `POST /containers/{id}/attach`) relayed onto the gateway's
 * Attach stream. docker's client attaches to a created container and then calls `/start`; Berth's
 * Attach has no "attached" acknowledgement, so an attachment to a container that does not run
 * waits here, and the `/start` that follows opens it with `start: true`: the agent starts the
 * container once the relay is in place and no output is lost (PendingAttaches.startAttached).
 */
export interface Attachment {
  open(start: boolean): ClientDuplexStream<StreamInput, StreamOutput>;
  call?: ClientDuplexStream<StreamInput, StreamOutput>;
}

export class PendingAttaches {
  private readonly waiting = new Map<string, Set<Attachment>>();
  private readonly open = new Map<string, Set<Attachment>>();

  constructor(private readonly containers: ContainersClient) {}

  add(containerId: string, a: Attachment): () => void {
    let set = this.waiting.get(containerId);
    if (!set) this.waiting.set(containerId, (set = new Set()));
    set.add(a);
    return () => {
      set.delete(a);
      if (set.size === 0 && this.waiting.get(containerId) === set) this.waiting.delete(containerId);
    };
  }

  track(containerId: string, a: Attachment): () => void {
    let set = this.open.get(containerId);
    if (!set) this.open.set(containerId, (set = new Set()));
    set.add(a);
    return () => set.delete(a);
  }

  /** `docker run -t`'s resize (POST /containers/{id}/resize) goes to the attached streams. */
  resize(containerId: string, rows: number, cols: number): void {
    for (const a of this.open.get(containerId) ?? []) a.call?.write({ input: { $case: 'resize', value: { rows, cols } } });
  }

  /**
   * Starts a container through the attachments waiting for it; false when none waits (the caller
   * starts it itself). Resolves once the agent started it (its StartedAt changed), rejects with
   * the agent's error when the start failed.
   */
  async startAttached(containerId: string, startedAtBefore: string): Promise<boolean> {
    const set = this.waiting.get(containerId);
    if (!set || set.size === 0) return false;
    this.waiting.delete(containerId);
    const [first, ...rest] = [...set];
    for (const a of rest) a.open(false);
    const call = first!.open(true);
    const failed = new Promise<never>((_, reject) => call.once('error', (err) => reject(fromServiceError(err))));
    const started = (async () => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const answer = await unary(this.containers, this.containers.inspect, { id: containerId }).catch((err: unknown) => {
          // Gone after the agent was asked to start it: it ran and was removed already (`run --rm`
          // of a command that ends at once, under load). docker's CLI then reads the exit code from
          // its wait; a 404 here made it exit 125 (CI: docker-cli e2e `run -it --rm … 'tty; exit 4'`).
          if (fromServiceError(err) instanceof NotFoundError) return undefined;
          throw err;
        });
        if (answer === undefined) return;
        const info = JSON.parse(answer.json) as { State?: { StartedAt?: string } };
        if (info.State?.StartedAt && info.State.StartedAt !== startedAtBefore) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new ConflictError(`Container ${containerId} did not start within 60 s`);
    })();
    await Promise.race([started, failed]);
    return true;
  }
}
