import type * as grpc from '@grpc/grpc-js';
import type { ComposeProjectStore } from '@berth/events';
import {
  handleServerStream,
  handleUnary,
  type ComposeServer,
  type Empty,
  type ListProjectsRequest,
  type ListProjectsResponse,
  type ProjectChange,
  type ProjectDeclaration,
  type ProjectRef,
  type PutProjectRequest,
  type WatchProjectsRequest,
} from '@berth/proto';
import { InvalidArgumentError } from '@berth/errors';

/** The gateway's Compose service: declared projects, kept in NATS KV (see ComposeProjectStore). */
export function composeService(store: ComposeProjectStore): ComposeServer {
  return {
    putProject: handleUnary<PutProjectRequest, ProjectDeclaration>(async (req) => {
      if (!req.declaration) throw new InvalidArgumentError('a declaration is required');
      return store.put(req.declaration, req.expectedRevision);
    }),
    getProject: handleUnary<ProjectRef, ProjectDeclaration>((req) => store.get(req.name)),
    listProjects: handleUnary<ListProjectsRequest, ListProjectsResponse>(async () => ({ projects: await store.list() })),
    deleteProject: handleUnary<ProjectRef, Empty>(async (req) => {
      await store.delete(req.name);
      return {};
    }),
    watchProjects: handleServerStream<WatchProjectsRequest, ProjectChange>((_req, call: grpc.ServerWritableStream<WatchProjectsRequest, ProjectChange>) => {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      call.on('close', () => controller.abort());
      return (async function* () {
        for await (const change of store.watch(controller.signal)) yield { operation: change.operation, name: change.name, declaration: change.declaration };
      })();
    }),
  };
}
