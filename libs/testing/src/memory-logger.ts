import type { Logger } from '@berth/log';

export interface LoggedEvent {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps what it is told, for tests that assert what a library logged. */
export function memoryLogger(): Logger & { events: LoggedEvent[] } {
  const events: LoggedEvent[] = [];
  const at = (level: LoggedEvent['level']) => (fields: Record<string, unknown>, msg: string) => void events.push({ level, msg, fields });
  return { events, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
