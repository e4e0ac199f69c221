import { execTool, mustExec } from './host-exec.js';

/**
 * Changes to iptables in one `iptables-restore --noflush` process instead of one `iptables` per
 * rule or chain: every process forks the agent and takes the xtables lock (other agents wait on
 * it), 50–150 ms each on the loaded 2-core machines, and a teardown of chains and their jumps took
 * ~14 of them (bench/README.md, "Platform down and up"). A restore fails as a whole when one of its
 * lines does (a `-D` of a rule that is not there), so what it deletes is read first from one
 * `iptables-save`.
 */

/** One table of `iptables-save`: its chains and its rules (the `-A …` lines, as printed). */
export interface SavedTable {
  chains: Set<string>;
  rules: string[];
}

/** Every table of the host's rules, by name (`nat`, `filter`, …). */
export type SavedRules = Map<string, SavedTable>;

/** Parses `iptables-save` output. */
export function parseSaved(text: string): SavedRules {
  const tables: SavedRules = new Map();
  let current: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1).trim(), current);
    } else if (line.startsWith(':') && current) current.chains.add(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ') && current) current.rules.push(line);
  }
  return tables;
}

/** The host's rules, from one `iptables-save` (every table). Throws InternalError when it fails. */
export async function saveRules(): Promise<SavedRules> {
  return parseSaved(await mustExec('iptables-save', []));
}

/** Whether `table` has exactly the rule `-A <chain> <rule…>` (what `iptables -C` checks). */
export function hasRule(saved: SavedRules, table: string, chain: string, rule: readonly string[]): boolean {
  return saved.get(table)?.rules.includes(`-A ${chain} ${rule.join(' ')}`) ?? false;
}

/** The chain a rule jumps or goes to (`-j X`, `-g X`; not words of a quoted comment), undefined for a verdict-less rule. */
function targetOf(rule: string): string | undefined {
  return / -[jg] (\S+)/.exec(rule.replace(/"(?:[^"\\]|\\.)*"/g, '""'))?.[1];
}

/**
 * The iptables-restore input that deletes `chains` ([table, chain] pairs) that exist, with every
 * rule elsewhere that jumps to them (all copies): `-D` of those rules as saved, then `-F` and
 * `-X` of the chains. '' when none of them exists and nothing jumps to them.
 */
export function renderChainRemoval(saved: SavedRules, chains: ReadonlyArray<readonly [string, string]>): string {
  const out: string[] = [];
  for (const table of new Set(chains.map(([t]) => t))) {
    const t = saved.get(table);
    if (!t) continue;
    const ours = new Set(chains.filter(([inTable]) => inTable === table).map(([, chain]) => chain));
    const jumps = t.rules.filter((rule) => !ours.has(rule.split(' ')[1]!) && ours.has(targetOf(rule) ?? ''));
    const existing = [...ours].filter((c) => t.chains.has(c));
    if (jumps.length === 0 && existing.length === 0) continue;
    out.push(`*${table}`, ...jumps.map((rule) => `-D${rule.slice(2)}`), ...existing.map((c) => `-F ${c}`), ...existing.map((c) => `-X ${c}`), 'COMMIT');
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

/**
 * Deletes `chains` and every jump to them in one iptables-save and one iptables-restore; a missing
 * chain is fine. When the rules changed between the two (another tool deleted one of them: the
 * restore fails as a whole), it reads them again and tries once more. Throws InternalError when
 * iptables refuses twice.
 */
export async function removeChains(chains: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const text = renderChainRemoval(await saveRules(), chains);
  if (text === '' || (await execTool('iptables-restore', ['-w', '--noflush'], text)).code === 0) return;
  const again = renderChainRemoval(await saveRules(), chains);
  if (again !== '') await mustExec('iptables-restore', ['-w', '--noflush'], again);
}
