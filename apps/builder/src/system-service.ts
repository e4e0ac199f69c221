import { hostname } from 'node:os';
import type { Builder } from '@berth/build';
import { handleUnary, type InfoResponse, type SystemServer } from '@berth/proto';

/**
 * The builder's System service: `Info` names the host it builds for (the platform's health check
 * of the builder calls it), `Df` has the Build Cache row.
 */
export function systemService(builder: Builder, facts: { hostId: string; version: string; dataRoot: string }): SystemServer {
  return {
    info: handleUnary(
      async (): Promise<InfoResponse> => ({
        hostId: facts.hostId,
        hostname: hostname(),
        version: facts.version,
        runtime: '',
        warnings: [],
        dataRoot: facts.dataRoot,
        containers: 0,
        containersRunning: 0,
        containersPaused: 0,
        containersStopped: 0,
        images: 0,
        kernelVersion: '',
        cgroupVersion: '',
      }),
    ),
    df: handleUnary(async () => {
      const { records, size } = builder.cache.usage();
      // Docker counts no cache record as in use between builds: all of it is reclaimable.
      // No per-record view yet (`system df -v` lists no cache records): the row has the totals.
      return { rows: [{ type: 'Build Cache', total: records, active: 0, size, reclaimable: size }], images: [], containers: [], volumes: [], buildCache: [] };
    }),
  };
}
