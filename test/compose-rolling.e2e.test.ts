/**
 * End to end: a health-gated rolling update of a 3-replica service whose new version never becomes
 * healthy rolls back, and the old replicas keep serving throughout: a probe container asks the
 * service by name ten times a second during the whole update and sees no failed request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '@berth/testing';

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
  p = await startTestPlatform();
  const boot = await p.berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
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

    const update = await composeCli(['up', '-d'], { V: '2' });
    expect(update.code).not.toBe(0);
    expect(update.stderr).toContain('service "web": update failed (container rolling-web-1 did not become healthy within 4s); rolled back to the previous configuration');
    expect(update.stderr).toContain(' Container rolling-web-1  Rolling back');

    const logs = await p.berth(['logs', 'probe']);
    await p.berth(['rm', '-f', 'probe']);
    const answers = logs.stdout.trim().split('\n');
    expect(answers.filter((a) => a.startsWith('FAIL'))).toEqual([]);
    expect(answers.filter((a) => a === 'OK').length).toBeGreaterThan(20);

    // The very same containers run again, healthy, with the old configuration.
    const after = await replicas();
    expect(after.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(before.map((l) => l.split(' ').slice(0, 2).join(' ')));
    for (const line of after) expect(line).toMatch(/\(healthy\)$/);
    const all = await composeCli(['ps', '-a', '-q']);
    expect(all.stdout.trim().split('\n')).toHaveLength(3);
  });
});
