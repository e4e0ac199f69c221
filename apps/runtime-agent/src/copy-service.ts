import { Readable } from 'node:stream';
import type { ContainerManager, PathStat } from '@berth/containers';
import { InvalidArgumentError } from '@berth/errors';
import {
  handleClientStream,
  handleServerStream,
  handleUnary,
  type ContainerPathStat,
  type ContainersServer,
  type CopyFromOutput,
  type CopyToInput,
} from '@berth/proto';

/** `docker cp`'s three calls on the agent: StatPath, CopyFrom (a tar out), CopyTo (a tar in). */
export function copyHandlers(manager: ContainerManager): Pick<ContainersServer, 'statPath' | 'copyFrom' | 'copyTo'> {
  return {
    statPath: handleUnary(async ({ id, path }) => statToProto(await manager.statPath(id, path))),
    copyFrom: handleServerStream(async ({ id, path }) => copyFrom(manager, id, path)),
    copyTo: handleClientStream(async (messages) => {
      const iterator = messages[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.input?.$case !== 'spec') throw new InvalidArgumentError('CopyTo must begin with a spec message');
      const spec = first.value.input.value;
      const content = Readable.from(tarBytes(iterator));
      await manager.extractToDir(spec.id, spec.path, content, { noOverwriteDirNonDir: spec.noOverwriteDirNonDir, copyUidGid: spec.copyUidGid });
      // The client may send the archive's zero padding after the end-of-archive blocks.
      for await (const _ of content) {
        // drained: nothing left to extract
      }
      return {};
    }),
  };
}

async function* copyFrom(manager: ContainerManager, id: string, path: string): AsyncGenerator<CopyFromOutput> {
  const { stat, stream } = await manager.archivePath(id, path);
  try {
    yield { output: { $case: 'stat', value: statToProto(stat) } };
    for await (const data of stream) yield { output: { $case: 'data', value: data as Buffer } };
  } finally {
    stream.destroy();
  }
}

async function* tarBytes(iterator: AsyncIterator<CopyToInput>): AsyncGenerator<Buffer> {
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    if (next.value.input?.$case === 'data') yield Buffer.from(next.value.input.value);
  }
}

function statToProto(stat: PathStat): ContainerPathStat {
  return { name: stat.name, size: stat.size, mode: stat.mode, mtime: stat.mtime, linkTarget: stat.linkTarget };
}
