import type { IncomingMessage } from 'node:http';
import type { Logger } from '@berth/log';
import type { GatewayClients } from './gateway-clients.js';
import type { Hijacked } from './hijack.js';
import type { PendingAttaches } from './pending-attaches.js';

/** What every route module gets: the gateway's services and the API's own small state. */
export interface DockerApiContext {
  clients: GatewayClients;
  /** The gateway's logger: a request that fails with a 5xx is logged at error (its path only: a query may carry build args). */
  log: Logger;
  /** Exec instances created and not yet started or inspected (the gRPC Exec creates and starts at once). */
  execs: Map<string, ExecRecord>;
  attaches: PendingAttaches;
  /** Raw-stream endpoints (attach, exec start) served on an `Upgrade: tcp` request. */
  upgrades: UpgradeRoute[];
  /** The platform registry ("127.0.0.1:5000"), shown by /info as an insecure registry. */
  platformRegistry?: string;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  config: { Cmd: string[]; Env: string[]; WorkingDir: string; User: string; Tty: boolean; AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean; Privileged: boolean };
  running: boolean;
  exitCode: number | null;
  pid: number;
  createdAt: number;
  /** Resizes that arrive while the exec runs go to its stream. */
  resize?: (rows: number, cols: number) => void;
}

export interface UpgradeRoute {
  method: string;
  pattern: RegExp;
  handle: (h: Hijacked, req: IncomingMessage, match: RegExpExecArray, query: URLSearchParams) => Promise<void>;
}
