import type { ParsedArgs } from './flags.js';

/**
 * A parsed flag's value as its type, for the command handlers: `str(p, 'name')`, `bool(p, 'rm')`,
 * `list(p, 'env')`, `num(p, 'last')`. Every flag a command declares has a value (its default when
 * not given); a name the command does not declare reads as the type's zero value.
 */

export const str = (p: ParsedArgs, name: string): string => (p.values[name] as string | undefined) ?? '';

export const bool = (p: ParsedArgs, name: string): boolean => (p.values[name] as boolean | undefined) ?? false;

export const list = (p: ParsedArgs, name: string): string[] => (p.values[name] as string[] | undefined) ?? [];

export const num = (p: ParsedArgs, name: string): number => (p.values[name] as number | undefined) ?? 0;
