import { serverStream, type Event, EventsClient } from '@berth/proto';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, list } from '../flag-values.js';
import { compileFormat as template, executeFormat as execute } from '../table-format.js';
import { timeFlag } from '../time-flags.js';
import { rfc3339NanoFixed } from '../units.js';
import { out } from './shared.js';

/** `berth events`: the gateway's event stream, over grpc-js (clients.ts). */

/** An event under docker's field names (events.Message), for --format; `{{json .}}` gives docker's JSON. */
class EventMessage {
  readonly Status: string;
  readonly ID: string;
  readonly From: string;
  readonly Type: string;
  readonly Action: string;
  readonly Actor: { ID: string; Attributes: Record<string, string> };
  readonly Scope: string;
  readonly Time: number;
  readonly TimeNano: number;

  constructor(event: Event) {
    const attributes = event.actor?.attributes ?? {};
    this.Type = event.type;
    this.Action = event.action;
    this.Actor = { ID: event.actor?.id ?? '', Attributes: attributes };
    this.Scope = event.scope || 'local';
    this.Time = event.time;
    this.TimeNano = Number(event.timeNano || 0);
    // docker's deprecated fields, still filled for containers and images
    const legacy = event.type === 'container' || event.type === 'image';
    this.Status = legacy ? event.action : '';
    this.ID = legacy ? this.Actor.ID : '';
    this.From = event.type === 'container' ? (attributes.image ?? '') : '';
  }

  toJSON(): Record<string, unknown> {
    return {
      ...(this.Status ? { status: this.Status, id: this.ID, from: this.From } : {}),
      Type: this.Type,
      Action: this.Action,
      Actor: this.Actor,
      scope: this.Scope,
      time: this.Time,
      timeNano: this.TimeNano,
    };
  }
}

/** docker's event line: `<time> container start <id> (image=busybox, name=web)`. */
export function formatEvent(event: Event): string {
  const nanos = event.timeNano || String(BigInt(event.time) * 1_000_000_000n);
  let line = `${rfc3339NanoFixed(nanos)} ${event.type} ${event.action} ${event.actor?.id ?? ''}`;
  const attributes = event.actor?.attributes ?? {};
  const keys = Object.keys(attributes).sort();
  if (keys.length > 0) line += ` (${keys.map((k) => `${k}=${attributes[k]}`).join(', ')})`;
  return `${line}\n`;
}

export async function events(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, EventsClient);
  const format = str(p, 'format');
  const t = format ? template(format === 'json' ? '{{json .}}' : format) : undefined;
  const filters = list(p, 'filter').map((f) => {
    const eq = f.indexOf('=');
    return { key: f.slice(0, eq), value: f.slice(eq + 1) };
  });
  const call = c.subscribe({ since: timeFlag(str(p, 'since')), until: timeFlag(str(p, 'until')), filters });
  ctx.cleanup.push(() => call.cancel());
  for await (const event of serverStream(call)) {
    out(ctx, t ? `${execute(t, new EventMessage(event))}\n` : formatEvent(event));
  }
  return 0;
}
