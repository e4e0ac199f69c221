/**
 * Removes what killed test runs left on this machine (libs/testing leftover-sweep.ts says what and
 * how a leftover is told from a running test). scripts/test runs it before the suite.
 *   npx tsx tools/sweep-test-leftovers.ts [--dry-run] [--min-age MINUTES]
 */
import { parseArgs } from 'node:util';
import { sweepTestLeftovers } from '@berth/testing';

const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean' }, 'min-age': { type: 'string', default: '60' } } });
const minutes = Number(values['min-age']);
if (!Number.isFinite(minutes) || minutes < 0) {
  console.error(`--min-age: "${values['min-age']}" is not a number of minutes`);
  process.exit(2);
}
const report = sweepTestLeftovers({ minAgeMs: minutes * 60_000, dryRun: values['dry-run'] });
const verb = values['dry-run'] ? 'would remove' : 'removed';
if (report.roots.length + report.networks.length > 0) {
  console.log(`sweep-test-leftovers: ${verb} what killed test runs left: data roots ${report.roots.join(' ') || '(none)'}, test networks ${report.networks.join(' ') || '(none)'}`);
  if (!values['dry-run']) console.log(`  links: ${report.links.length}, netns: ${report.netns.length}, iptables chains: ${report.chains.length}`);
}
