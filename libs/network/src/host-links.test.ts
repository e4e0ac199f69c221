/**
 * host-links against the real kernel (root): a bridge made before Berth set bridge MACs gets its
 * current MAC pinned, so the containers on it keep reaching the gateway. Links carry a random name
 * of this run and are deleted even when the test fails.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { execTool } from './host-exec.js';
import { deleteLink, ensureBridge } from './host-links.js';

const links: string[] = [];
afterEach(async () => {
  for (const name of links.splice(0)) await deleteLink(name);
});

const sys = (name: string, file: string) => readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();

describe('ensureBridge', () => {
  it("pins an existing bridge's MAC to the one it has, which a port going then leaves alone", async () => {
    const suffix = randomBytes(3).toString('hex');
    const [bridge, port] = [`brt${suffix}`, `vt${suffix}`];
    links.push(port, bridge);
    await execTool('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await execTool('ip', ['link', 'add', 'name', port, 'address', '00:00:00:00:00:01', 'type', 'veth', 'peer', 'name', `${port}p`]);
    await execTool('ip', ['link', 'set', 'dev', port, 'master', bridge]);
    expect(sys(bridge, 'address')).toBe('00:00:00:00:00:01'); // the kernel's choice: its lowest port's

    await ensureBridge(bridge, '10.213.240.1/24', `berth:test-${suffix}`);
    expect(sys(bridge, 'address')).toBe('00:00:00:00:00:01');
    await deleteLink(port);
    expect(sys(bridge, 'address')).toBe('00:00:00:00:00:01');
  });

  it('gives a new bridge a random locally administered unicast MAC', async () => {
    const bridge = `brt${randomBytes(3).toString('hex')}`;
    links.push(bridge);
    await ensureBridge(bridge, '10.213.241.1/24', `berth:test-${bridge}`);
    const first = parseInt(sys(bridge, 'address').slice(0, 2), 16);
    expect(first & 0x03).toBe(0x02);
    expect(sys(bridge, 'addr_assign_type')).toBe('3');
  });
});
