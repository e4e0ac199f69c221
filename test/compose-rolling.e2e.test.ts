/**
 * End to end: a health-gated rolling update of a 3-replica service whose new version never becomes
 * healthy rolls back, and the old replicas keep serving throughout: a probe container asks the
 * service by name ten times a second during the whole update and sees no failed request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
const dir = mkdtempSync(join(tmpdir(), 'berth-compose-rolling-'));
const file = join(dir, 'compose.yaml');

// Version 1 serves HTTP; version 2 (V=2) serves nothing, so its healthcheck fails, and any request
// the DNS sent to it would fail.
const compose = `
services:
  web:
    image: busybox
    environment: {VERSION: "\${V:-1}"}
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        mkdir -p /www && echo "v$$VERSION $$(hostname)" > /www/index.html
        [ "$$VERSION" = 1 ] && httpd -f -p 80 -h /www &
        while true; do sleep 0.2; done
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, http://localhost/]
      interval: 500ms
      retries: 2
    stop_grace_period: 1s
    deploy:
      replicas: 3
      update_config: {parallelism: 1, order: start-first, failure_action: rollback, monitor: 4s}
`;

beforeAll(async () => {
  writeFileSync(file, compose);
  p = await startBusyboxPlatform();
}, 180_000);

afterAll(async () => {
  await p?.berth(['rm', '-f', 'probe']).catch(() => undefined);
  await p?.berth(['compose', '-f', file, '-p', 'rolling', 'down', '-t', '1']).catch(() => undefined);
  await p?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const composeCli = (args: string[], env: Record<string, string> = {}) => p.berth(['compose', '-f', file, '-p', 'rolling', ...args], { env, timeoutMs: 120_000 });

async function replicas(): Promise<string[]> {
  const r = await composeCli(['ps', '--format', '{{.Name}} {{.ID}} {{.Status}}', '--no-trunc']);
  return r.stdout.trim().split('\n').filter(Boolean).sort();
}

describe('a health-gated rolling update', () => {
  it('rolls back a failing update while the old replicas keep serving', async () => {
    const up = await composeCli(['up', '-d', '--wait']);
    expect(up.code, up.stderr).toBe(0);
    const before = await replicas();
    expect(before).toHaveLength(3);
    for (const line of before) expect(line).toMatch(/\(healthy\)$/);

    // Every address the name resolves to is asked, so a replica the DNS should not answer fails.
    const probe = await p.berth([
      'run', '-d', '--name', 'probe', '--network', 'rolling_default', 'busybox', 'sh', '-c',
      'while true; do out=$(nslookup web 2>&1); ips=$(echo "$out" | awk "/^Address: /{print \\$2}"); ' +
        '[ -n "$ips" ] || echo "FAIL no address: $(echo "$out" | tr "\\n" " ")"; ' +
        'for ip in $ips; do if timeout 3 wget -q -O /dev/null http://$ip/; then echo OK; else echo "FAIL $ip"; fi; done; sleep 0.1; done',
    ]);
    expect(probe.code, probe.stderr).toBe(0);
    // The probe's answers with the time each was logged.
    const answers = async () =>
      (await p.berth(['logs', '-t', 'probe'])).stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ at: Date.parse(line.slice(0, line.indexOf(' '))), text: line.slice(line.indexOf(' ') + 1) }));
    // The probe is answering before the update begins, and has answered after it ended: it saw all of it.
    await vi.waitFor(async () => expect((await answers()).map((a) => a.text)).toContain('OK'), { timeout: 30_000, interval: 200 });

    const started = Date.now();
    const update = await composeCli(['up', '-d'], { V: '2' });
    const ended = Date.now();
    expect(update.code).not.toBe(0);
    expect(update.stderr).toContain('service "web": update failed (container rolling-web-1 did not become healthy within 4s); rolled back to the previous configuration');
    expect(update.stderr).toContain(' Container rolling-web-1  Rolling back');

    await vi.waitFor(async () => expect((await answers()).some((a) => a.at > ended)).toBe(true), { timeout: 30_000, interval: 200 });
    const seen = await answers();
    await p.berth(['rm', '-f', 'probe']);
    expect(seen.filter((a) => a.text.startsWith('FAIL'))).toEqual([]);
    // Served during the update (the 4 s monitor alone lets a probe on a loaded machine ask a few times).
    expect(seen.filter((a) => a.text === 'OK' && a.at >= started && a.at <= ended).length).toBeGreaterThanOrEqual(3);

    // The very same containers run again, healthy, with the old configuration.
    const after = await replicas();
    expect(after.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(before.map((l) => l.split(' ').slice(0, 2).join(' ')));
    for (const line of after) expect(line).toMatch(/\(healthy\)$/);
    const all = await composeCli(['ps', '-a', '-q']);
    expect(all.stdout.trim().split('\n')).toHaveLength(3);
  });
});
