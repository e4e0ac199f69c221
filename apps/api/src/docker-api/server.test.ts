import { describe, expect, it } from 'vitest';
import { silentLogger } from '@berth/log';
import { NotFoundError } from '@berth/errors';
import { PendingAttaches } from './pending-attaches.js';
import type { GatewayClients } from './gateway-clients.js';
import { dockerApiApp } from './server.js';

/** A gateway whose every gRPC call answers with `err` (the shape `unary` calls: method(req, md, opts, cb)). */
function failingClients(err: Error): GatewayClients {
  const method = (_req: unknown, _md: unknown, _opts: unknown, cb: (e: unknown) => void) => cb(err);
  const client = new Proxy({}, { get: () => method });
  return new Proxy({}, { get: () => client }) as unknown as GatewayClients;
}

function build(clients: GatewayClients) {
  return dockerApiApp({ clients, log: silentLogger, execs: new Map(), attaches: new PendingAttaches(clients.containers), upgrades: [] });
}

describe('the Docker API app', () => {
  it('answers /_ping with docker headers, under any served version prefix', async () => {
    const app = build(failingClients(new Error('unused')));
    const res = await app.inject({ method: 'GET', url: '/v1.41/_ping' });
    expect([res.statusCode, res.body, res.headers['api-version'], res.headers['builder-version'], res.headers['ostype']]).toEqual([200, 'OK', '1.49', '1', 'linux']);
    expect((await app.inject({ method: 'HEAD', url: '/_ping' })).statusCode).toBe(200);
    await app.close();
  });

  it('refuses versions outside 1.41–1.49 with docker message', async () => {
    const app = build(failingClients(new Error('unused')));
    const tooNew = await app.inject({ method: 'GET', url: '/v1.50/version' });
    expect([tooNew.statusCode, tooNew.json()]).toEqual([400, { message: 'client version 1.50 is too new. Maximum supported API version is 1.49' }]);
    const tooOld = await app.inject({ method: 'GET', url: '/v1.24/_ping' });
    expect(tooOld.statusCode).toBe(400);
    expect(tooOld.json().message).toMatch(/^client version 1.24 is too old. Minimum supported API version is 1.41/);
    await app.close();
  });

  it('turns a gateway error into docker JSON with its status and exactly application/json', async () => {
    const app = build(failingClients(new NotFoundError('No such container: web')));
    const res = await app.inject({ method: 'POST', url: '/v1.49/containers/web/start' });
    expect([res.statusCode, res.headers['content-type'], res.json()]).toEqual([404, 'application/json', { message: 'No such container: web' }]);
    const unknown = await app.inject({ method: 'GET', url: '/v1.49/nothing' });
    expect([unknown.statusCode, unknown.json()]).toEqual([404, { message: 'page not found' }]);
    const badFilter = await app.inject({ method: 'GET', url: '/containers/json?filters=notjson' });
    expect([badFilter.statusCode, badFilter.json()]).toEqual([400, { message: 'invalid filter "notjson": not JSON' }]);
    await app.close();
  });

  it('refuses the BuildKit protocol with what to do instead', async () => {
    const app = build(failingClients(new Error('unused')));
    const res = await app.inject({ method: 'POST', url: '/v1.49/build?version=2', headers: { 'content-type': 'application/x-tar' }, payload: Buffer.alloc(0) });
    expect([res.statusCode, res.json()]).toEqual([400, { message: 'BuildKit is not served by the Berth Docker API: set DOCKER_BUILDKIT=0 or use `berth build`' }]);
    await app.close();
  });
});
