import * as proto from '@berth/proto';
import { describe, expect, it } from 'vitest';
import { Containers as ListContainers } from './commands/container-list.js';
import { Containers as RemoveContainers } from './commands/container-remove.js';
import { Containers as StatsContainers } from './commands/container-stats.js';
import { Containers } from './commands/containers.js';
import { Containers as InspectContainers, Images, Networks, Volumes } from './commands/inspect.js';
import { Containers as RunContainers } from './commands/run.js';
import { Streams } from './commands/stream-relay.js';
import type { MessageCodec, Named } from './unary-clients.js';

/**
 * The CLI's method tables (unary-clients.ts `unaryMethod`, `duplexMethod`) against libs/proto's
 * generated service definitions: tsc checks each path, kind and message shape, but takes one message
 * for another of the same shape (KillContainerRequest where StopContainerRequest is asked for), which
 * would encode with the other message's field numbers. Here each method's messages are the ones the
 * generated definition encodes and decodes (by the names in its serializers' code).
 */
const nameOf = (codec: MessageCodec<unknown>) => Object.entries(proto).find(([, value]) => value === codec)?.[0];

const tables: Array<[string, Record<string, Named<string, unknown, unknown>>, Record<string, { path: string; requestSerialize: unknown; responseDeserialize: unknown }>]> = [
  ['containers.ts Containers', Containers, proto.ContainersMethods],
  ['container-list.ts Containers', ListContainers, proto.ContainersMethods],
  ['container-remove.ts Containers', RemoveContainers, proto.ContainersMethods],
  ['container-stats.ts Containers', StatsContainers, proto.ContainersMethods],
  ['inspect.ts Containers', InspectContainers, proto.ContainersMethods],
  ['inspect.ts Images', Images, proto.ImagesMethods],
  ['inspect.ts Volumes', Volumes, proto.VolumesMethods],
  ['inspect.ts Networks', Networks, proto.NetworksMethods],
  ['run.ts Containers', RunContainers, proto.ContainersMethods],
  ['stream-relay.ts Streams', Streams, proto.ContainersMethods],
];

describe('the CLI\'s method tables', () => {
  it.each(tables)('%s: each method has the path and the messages of the generated definition', (_, table, generated) => {
    for (const [method, named] of Object.entries(table)) {
      const definition = generated[method]!;
      const request = nameOf(named.request);
      const response = nameOf(named.response);
      expect({ method, path: named.path }).toEqual({ method, path: definition.path });
      expect({ method, request: String(definition.requestSerialize) }).toMatchObject({ method, request: expect.stringMatching(new RegExp(`\\b${request}\\.encode\\(`)) });
      expect({ method, response: String(definition.responseDeserialize) }).toMatchObject({ method, response: expect.stringMatching(new RegExp(`\\b${response}\\.decode\\(`)) });
    }
  });
});
