import { parseArgs } from 'node:util';
import { serviceLoggerForFlag } from '@berth/log';
import { GatewayEngine } from './gateway-engine.js';
import { EngineHealthWaiter } from './health.js';
import { ComposeWatcher } from './watcher.js';

/**
 * The compose watcher service (started by `berth platform up`, see compose/platform/compose.yaml): keeps
 * the projects declared by `berth compose up -d` as declared, through the gateway only.
 *   --api=ADDRESS        the gateway (unix:/run/berth/api.sock, host:port)
 *   --resync=SECONDS     full reconcile period (default 30)
 *   --log-level=LEVEL    debug, info, warn or error (default: BERTH_LOG_LEVEL, else info)
 */
const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'unix:/run/berth/api.sock' },
    resync: { type: 'string', default: '30' },
    'log-level': { type: 'string' },
  },
});

// One JSON line per event on stdout (libs/log); a line lost on a full disk does not end the watcher.
const logger = serviceLoggerForFlag('compose-watcher', values['log-level']);
const engine = new GatewayEngine(values.api!);
const watcher = new ComposeWatcher(
  {
    engine,
    health: new EngineHealthWaiter(engine),
    progress: (e) => logger.debug({ kind: e.kind, object: e.name, status: e.status, detail: e.detail }, `${e.kind} ${e.name} ${e.status}`),
    warn: (text) => logger.warn(text),
  },
  {
    resyncMs: Number(values.resync) * 1000,
    log: (level, message, fields) => logger[level](fields ?? {}, message),
  },
);

const controller = new AbortController();
const shutdown = () => controller.abort();
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
logger.info({ api: values.api }, 'compose watcher started');
await watcher.run(controller.signal);
engine.close();
logger.info('compose watcher stopped');
