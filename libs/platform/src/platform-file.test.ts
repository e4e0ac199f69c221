import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlatformFile } from './platform-file.js';

// A temp directory removed at the end of the block (libs/testing depends on this library).
function tempDir(): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), 'berth-platform-test-'));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

describe('loadPlatformFile', () => {
  it('expands list variables into zero or more arguments and orders services by dependency', () => {
    using dir = tempDir();
    const file = join(dir.path, 'platform.yaml');
    writeFileSync(
      file,
      'services:\n  api:\n    command: ["${NODE}", main.ts, "--listen=${ADDR}", "${FLAGS}", "${NONE}"]\n    depends_on: [nats]\n  nats:\n    command: [nats-server, -c, "${CONF}"]\n    healthcheck:\n      test: [tcp, "127.0.0.1:4222"]\n',
    );
    const services = loadPlatformFile(file, { NODE: ['node', '--import', 'tsx'], ADDR: 'unix:/a.sock', FLAGS: ['--group=docker', '--tlsverify'], NONE: [], CONF: '/c' });
    expect(services).toEqual([
      { name: 'nats', command: ['nats-server', '-c', '/c'], dependsOn: [], healthcheck: ['tcp', '127.0.0.1:4222'] },
      { name: 'api', command: ['node', '--import', 'tsx', 'main.ts', '--listen=unix:/a.sock', '--group=docker', '--tlsverify'], dependsOn: ['nats'], healthcheck: undefined },
    ]);
    expect(() => loadPlatformFile(file, { NODE: [], ADDR: 'x', FLAGS: [], NONE: [] })).toThrow(`${file}: services.nats.command[2]: unknown variable \${CONF}`);
  });
});
