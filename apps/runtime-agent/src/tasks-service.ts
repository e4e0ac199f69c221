import { handleServerStream, type RunTaskOutput, type TasksServer } from '@berth/proto';
import { type WorkerTasks, workerProto } from '@berth/worker';

/**
 * The Tasks gRPC service: `Run` streams a task's output, then its exit code. A cancelled call (the
 * builder went away) kills the task at once; its snapshot is left to the builder's lease.
 */
export function tasksService(tasks: WorkerTasks): TasksServer {
  return {
    run: handleServerStream(async function* (request, call): AsyncGenerator<RunTaskOutput> {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort(new Error('The task was cancelled by the client')));
      const queue: Buffer[] = [];
      let wake: (() => void) | undefined;
      let finished = false;
      const running = tasks
        .run(workerProto.taskRequestFromProto(request), {
          onOutput: (text) => {
            queue.push(Buffer.from(text));
            wake?.();
          },
          signal: controller.signal,
        })
        .finally(() => {
          finished = true;
          wake?.();
        });
      running.catch(() => undefined); // awaited below; this only marks it handled while output is streamed
      try {
        for (;;) {
          while (queue.length > 0) yield { output: { $case: 'data', value: queue.shift()! } };
          if (finished) break;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
        const exitCode = await running;
        while (queue.length > 0) yield { output: { $case: 'data', value: queue.shift()! } };
        yield { output: { $case: 'exitCode', value: exitCode } };
      } finally {
        // The stream was abandoned (client gone): stop the task before leaving.
        if (!finished) controller.abort(new Error('The task was cancelled by the client'));
        await running.catch(() => undefined); // cancelled by the client: its error has nobody to go to
      }
    }),
  };
}
