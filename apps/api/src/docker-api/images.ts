import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { fromServiceError, serverStream, unary, type DataChunk, type ImageSummary, type TransferProgress } from '@berth/proto';
import { pipeChunks } from './containers.js';
import { bool, filters, int, registryAuth, str, type Query } from './query.js';
import { pumpBody } from './request-body.js';
import type { DockerApiContext } from './context.js';
import { jsonProgress } from './stream-reply.js';

/**
 * Images: list, inspect, history, tag, remove, pull and import (`/images/create`), push, save
 * (`/images/get`, `/images/{name}/get`), load, search, prune, commit, `distribution/{name}/json`.
 * An image name may hold slashes (`host:5000/a/b`), so `/images/{name}/…` routes are matched here
 * by their last segment.
 */
export function registerImageRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const im = ctx.clients.images;

  app.get('/images/json', async (request) => {
    const q = request.query as Query;
    const res = await unary(im, im.list, { all: bool(q, 'all'), filters: filters(q), manifests: bool(q, 'manifests') });
    return res.images.map(dockerImageSummary);
  });

  app.get('/images/search', async (request) => {
    const q = request.query as Query;
    const res = await unary(im, im.search, { term: str(q, 'term'), limit: int(q, 'limit') ?? 0, registryAuth: registryAuth(request.headers['x-registry-auth']) });
    return res.results.map((r) => ({ name: r.name, description: r.description, star_count: r.starCount, is_official: r.isOfficial, is_automated: r.isAutomated }));
  });

  app.get('/images/get', async (request, reply) => {
    const q = request.query as Query;
    const names = q.names === undefined ? [] : Array.isArray(q.names) ? q.names : [q.names];
    await save(reply, names);
  });

  app.post('/images/create', async (request, reply) => {
    const q = request.query as Query;
    const fromImage = str(q, 'fromImage');
    const fromSrc = str(q, 'fromSrc');
    if (fromSrc) return importImage(request, reply, q);
    if (!fromImage) throw new InvalidArgumentError('Either "fromImage" or "fromSrc" must be given');
    const tag = str(q, 'tag');
    const ref = tag === '' ? fromImage : tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
    const call = im.pull({ ref, platform: str(q, 'platform'), allTags: tag === '' && !/[:@][^/]*$/.test(fromImage), registryAuth: registryAuth(request.headers['x-registry-auth']) });
    await progressAnswer(reply, call, serverStream<TransferProgress>(call));
  });

  app.post('/images/load', async (request, reply) => {
    const q = request.query as Query;
    const loaded = await new Promise<string[]>((resolve, reject) => {
      const call = im.load((err, res) => (err ? reject(fromServiceError(err)) : resolve(res.loaded)));
      pumpBody(request.raw, call, (data) => ({ data })).catch(reject);
    });
    if (bool(q, 'quiet')) return reply.type('application/json').send(loaded.map((l) => JSON.stringify({ stream: `${l}\n` })).join('\r\n'));
    return jsonProgress(reply, (async function* () {
      for (const l of loaded) yield { stream: `${l}\n` };
    })());
  });

  app.post('/images/prune', async (request) => {
    const q = request.query as Query;
    const f = filters(q);
    const all = f.some((x) => x.key === 'dangling' && /^(false|0)$/i.test(x.value));
    const res = await unary(im, im.prune, { all, filters: f.filter((x) => x.key !== 'dangling') });
    return { ImagesDeleted: res.deleted.map(removedItem), SpaceReclaimed: Number(res.spaceReclaimed) };
  });

  app.post('/commit', async (request, reply) => {
    const q = request.query as Query;
    const body = (request.body ?? {}) as { Labels?: Record<string, string> };
    const changes = (q.changes === undefined ? [] : Array.isArray(q.changes) ? q.changes : [q.changes]).flatMap((c) => c.split('\n')).filter(Boolean);
    for (const [k, v] of Object.entries(body.Labels ?? {})) changes.push(`LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    const repo = str(q, 'repo');
    const tag = str(q, 'tag');
    const res = await unary(im, im.commit, {
      container: str(q, 'container'),
      ref: repo ? `${repo}${tag ? `:${tag}` : ''}` : '',
      author: str(q, 'author'),
      message: str(q, 'comment'),
      changes,
      pause: bool(q, 'pause', true),
    });
    return reply.code(201).send({ Id: res.id });
  });

  app.get('/distribution/*', async (request) => {
    const name = (request.params as { '*': string })['*'].replace(/\/json$/, '');
    const doc = JSON.parse((await unary(im, im.inspect, { ref: name })).json) as { RepoDigests?: string[]; Architecture?: string; Os?: string };
    const digest = doc.RepoDigests?.[0]?.split('@')[1];
    if (!digest) throw new NotFoundError(`No such image: ${name}`);
    return { Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: 0 }, Platforms: [{ architecture: doc.Architecture, os: doc.Os }] };
  });

  app.get('/images/*', async (request, reply) => {
    const { name, action } = split(request);
    if (action === 'json') return reply.type('application/json').send((await unary(im, im.inspect, { ref: name })).json);
    if (action === 'history') {
      const res = await unary(im, im.history, { ref: name });
      return res.entries.map((e) => ({ Id: e.id, Created: Number(e.created), CreatedBy: e.createdBy, Tags: e.tags.length ? e.tags : null, Size: Number(e.size), Comment: e.comment }));
    }
    if (action === 'get') return save(reply, [name]);
    throw new NotFoundError('page not found');
  });

  app.post('/images/*', async (request, reply) => {
    const { name, action } = split(request);
    const q = request.query as Query;
    if (action === 'tag') {
      const repo = str(q, 'repo');
      if (!repo) throw new InvalidArgumentError('repository name must have at least one component');
      await unary(im, im.tag, { source: name, target: `${repo}:${str(q, 'tag') || 'latest'}` });
      return reply.code(201).send();
    }
    if (action === 'push') {
      const tag = str(q, 'tag');
      const call = im.push({ ref: tag ? `${name}:${tag}` : name, allTags: tag === '' && !/:[^/]*$/.test(name), registryAuth: registryAuth(request.headers['x-registry-auth']) });
      return progressAnswer(reply, call, serverStream<TransferProgress>(call));
    }
    throw new NotFoundError('page not found');
  });

  app.delete('/images/*', async (request) => {
    const name = (request.params as { '*': string })['*'];
    const q = request.query as Query;
    const res = await unary(im, im.remove, { ref: name, force: bool(q, 'force'), noPrune: bool(q, 'noprune') });
    return res.items.map(removedItem);
  });

  async function save(reply: FastifyReply, refs: string[]): Promise<void> {
    const call = im.save({ refs });
    await pipeChunks(reply, 'application/x-tar', call, serverStream<DataChunk>(call));
  }

  async function importImage(request: FastifyRequest, reply: FastifyReply, q: Query): Promise<void> {
    const repo = str(q, 'repo');
    const tag = str(q, 'tag');
    const changes = q.changes === undefined ? [] : Array.isArray(q.changes) ? q.changes : [q.changes];
    const summary = await new Promise<ImageSummary>((resolve, reject) => {
      const call = im.import((err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
      call.write({ part: { $case: 'options', value: { ref: repo ? `${repo}${tag ? `:${tag}` : ''}` : '', changes, message: str(q, 'message') } } });
      pumpBody(request.raw, call, (data) => ({ part: { $case: 'data' as const, value: data } })).catch(reject);
    });
    await jsonProgress(reply, (async function* () {
      yield { status: summary.id };
    })());
  }
}

function split(request: FastifyRequest): { name: string; action: string } {
  const rest = (request.params as { '*': string })['*'];
  const slash = rest.lastIndexOf('/');
  if (slash < 0) throw new NotFoundError('page not found');
  return { name: rest.slice(0, slash), action: rest.slice(slash + 1) };
}

/** A pull or push, as docker's JSON progress; an error before any progress is an ordinary error answer. */
async function progressAnswer(reply: FastifyReply, call: { cancel(): void }, messages: AsyncGenerator<TransferProgress>): Promise<void> {
  const first = await messages.next();
  reply.raw.on('close', () => call.cancel());
  await jsonProgress(reply, (async function* () {
    if (!first.done) yield dockerProgress(first.value);
    for await (const m of messages) yield dockerProgress(m);
  })());
}

function dockerProgress(p: TransferProgress): Record<string, unknown> {
  const out: Record<string, unknown> = { status: p.status };
  if (p.id) out.id = p.id;
  if (Number(p.total) > 0) out.progressDetail = { current: Number(p.current), total: Number(p.total) };
  if (p.digest && Number(p.size) > 0) out.aux = { Tag: p.ref.split(':').pop(), Digest: p.digest, Size: Number(p.size) };
  return out;
}

function dockerImageSummary(i: ImageSummary): Record<string, unknown> {
  return {
    Id: i.id,
    ParentId: i.parentId,
    RepoTags: i.repoTags,
    RepoDigests: i.repoDigests,
    Created: Number(i.created),
    Size: Number(i.size),
    SharedSize: -1,
    VirtualSize: Number(i.size),
    Labels: i.labels,
    Containers: Number(i.containers),
  };
}

function removedItem(i: { untagged: string; deleted: string }): Record<string, string> {
  return i.untagged ? { Untagged: i.untagged } : { Deleted: i.deleted };
}
