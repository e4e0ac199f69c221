import {
  type ContainersMethods,
  type ImagesMethods,
  type JsonDocument,
  type NetworksMethods,
  type VolumesMethods,
  ContainerRef,
  ImageRef,
  JsonDocument as JsonDocumentMessage,
  NetworkRef,
  VolumeRef,
} from '@berth/proto';
import { NotFoundError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str } from '../flag-values.js';
import { inspectEach } from './inspect-each.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';

/**
 * `inspect`, `container inspect` and `image inspect`: a module of their own, so that their pack holds
 * the code of their own messages and its code cache what they run (bench/README.md, "ps, inspect,
 * rm: a pack per command").
 */

// `inspect` without --type looks for an image, a volume and a network of the name too.
export const Containers = { inspect: unaryMethod('/berth.v1.Containers/Inspect', ContainerRef, JsonDocumentMessage) } satisfies MethodsOf<ContainersMethods>;
export const Images = { inspect: unaryMethod('/berth.v1.Images/Inspect', ImageRef, JsonDocumentMessage) } satisfies MethodsOf<ImagesMethods>;
export const Volumes = { inspect: unaryMethod('/berth.v1.Volumes/Inspect', VolumeRef, JsonDocumentMessage) } satisfies MethodsOf<VolumesMethods>;
export const Networks = { inspect: unaryMethod('/berth.v1.Networks/Inspect', NetworkRef, JsonDocumentMessage) } satisfies MethodsOf<NetworksMethods>;

type Kind = 'container' | 'image' | 'volume' | 'network';

async function inspectOne(ctx: CommandContext, kind: Kind, ref: string, size = false): Promise<unknown> {
  let doc: JsonDocument;
  if (kind === 'volume') {
    const c = unaryClient(ctx, Volumes);
    doc = await c.inspect({ name: ref });
  } else if (kind === 'network') {
    const c = unaryClient(ctx, Networks);
    doc = await c.inspect({ id: ref });
  } else if (kind === 'container') {
    const c = unaryClient(ctx, Containers);
    doc = await c.inspect({ id: ref, size });
  } else {
    const c = unaryClient(ctx, Images);
    doc = await c.inspect({ ref });
  }
  return JSON.parse(doc.json) as unknown;
}

/**
 * docker inspect: prints every object found (a JSON array, or the --format template per object),
 * then `Error: No such object: x` for each one missing, exit 1 if any was missing.
 */
async function inspectObjects(ctx: CommandContext, p: ParsedArgs, kinds: Kind[], missing: (name: string) => string): Promise<number> {
  return inspectEach(ctx, p, {
    fetch: async (name) => {
      for (const kind of kinds) {
        try {
          return await inspectOne(ctx, kind, name, p.values.size === true);
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
      throw new NotFoundError(missing(name));
    },
    errorLine: (err, name) => (err instanceof NotFoundError ? missing(name) : daemonMessage(err, ctx.host)),
  });
}

export async function inspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const type = str(p, 'type');
  if (type === 'container') return inspectObjects(ctx, p, ['container'], (n) => `Error: No such container: ${n}`);
  if (type === 'image') return inspectObjects(ctx, p, ['image'], (n) => `Error: No such image: ${n}`);
  if (type === 'volume') return inspectObjects(ctx, p, ['volume'], (n) => `Error: No such volume: ${n}`);
  if (type === 'network') return inspectObjects(ctx, p, ['network'], (n) => `Error: No such network: ${n}`);
  if (type !== '') throw new StatusError(`"${type}" is not a valid value for --type`, 1);
  return inspectObjects(ctx, p, ['container', 'image', 'volume', 'network'], (n) => `Error: No such object: ${n}`);
}

export async function containerInspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  return inspectObjects(ctx, p, ['container'], (n) => `Error: No such container: ${n}`);
}

export async function imageInspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  return inspectObjects(ctx, p, ['image'], (n) => `Error: No such image: ${n}`);
}
