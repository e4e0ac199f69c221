import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '@berth/errors';
import { serverStream, unary, type BuildKeyValue, type BuildOutput } from '@berth/proto';
import { bool, str, type Query } from './query.js';
import { pumpBody } from './request-body.js';
import type { DockerApiContext } from './context.js';
import { jsonProgress } from './stream-reply.js';

const keyValues = (q: Query, name: string): BuildKeyValue[] => {
  const raw = str(q, name);
  if (!raw) return [];
  const parsed = JSON.parse(raw) as Record<string, string | null>;
  return Object.entries(parsed)
    .filter(([, v]) => v !== null)
    .map(([key, value]) => ({ key, value: value! }));
};

/**
 * `POST /build`: the legacy builder's protocol (what the docker CLI sends with DOCKER_BUILDKIT=0):
 * the context as a tar body, options in the query, progress as JSON `stream` lines and the image
 * id as `aux`. The BuildKit session protocol (`version=2`) is not served.
 */
export function registerBuildRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const b = ctx.clients.builder;
  app.post('/build', async (request, reply) => {
    const q = request.query as Query;
    if (str(q, 'version') === '2') {
      throw new InvalidArgumentError('BuildKit is not served by the Berth Docker API: set DOCKER_BUILDKIT=0 or use `berth build`');
    }
    if (str(q, 'remote')) throw new InvalidArgumentError('Remote build contexts are not served by the Berth Docker API: send the context as a tar');
    const tags = q.t === undefined ? [] : Array.isArray(q.t) ? q.t : [q.t];
    const call = b.build();
    call.write({
      input: {
        $case: 'options',
        value: {
          dockerfile: str(q, 'dockerfile'),
          dockerfileContent: '',
          dockerfileName: '',
          buildArgs: keyValues(q, 'buildargs'),
          target: str(q, 'target'),
          tags,
          noCache: bool(q, 'nocache'),
          labels: keyValues(q, 'labels'),
          push: false,
          pull: bool(q, 'pull'),
          registryAuths: [],
          outputType: '',
          squash: bool(q, 'squash'),
          noCacheFilter: [],
          cacheTo: [],
          cacheFrom: [],
          contextKey: '',
          // The legacy builder's `networkmode` (the builder refuses what it cannot do), `extrahosts`
          // ("host:ip,host:ip") and `platform`; secrets and named contexts are BuildKit's only.
          network: str(q, 'networkmode'),
          extraHosts: str(q, 'extrahosts').split(',').filter(Boolean),
          platform: str(q, 'platform'),
          secrets: [],
          buildContexts: [],
        },
      },
    });
    const sending = pumpBody(request.raw, call, (data) => ({ input: { $case: 'context' as const, value: data } }));
    reply.raw.on('close', () => call.cancel());
    const quiet = bool(q, 'q');
    await jsonProgress(reply, (async function* () {
      for await (const m of serverStream<BuildOutput>(call)) {
        const o = m.output;
        if (o?.$case === 'line' && !quiet) yield { stream: `${o.value}\n` };
        if (o?.$case === 'imageId') {
          yield { aux: { ID: o.value } };
          if (!quiet) {
            yield { stream: `Successfully built ${o.value.replace(/^sha256:/, '').slice(0, 12)}\n` };
            for (const t of tags) yield { stream: `Successfully tagged ${t.includes(':') ? t : `${t}:latest`}\n` };
          }
        }
      }
      await sending;
    })());
  });
  app.post('/build/prune', async () => {
    const res = await unary(b, b.prune, { keepDurationSeconds: 0 });
    return { CachesDeleted: [], SpaceReclaimed: Number(res.reclaimed) };
  });
}
