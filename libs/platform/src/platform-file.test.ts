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
  it('loads a Compose file of host-process services: list variables become zero or more words, dependencies first', () => {
    using dir = tempDir();
    const file = join(dir.path, 'compose.yaml');
    writeFileSync(
      file,
      [
        'x-p: &p {provider: {type: host-process}}',
        'services:',
        '  api:',
        '    <<: *p',
        '    command: ${NODE} main.ts "--listen=${ADDR}" ${FLAGS} ${NONE}',
        '    depends_on: [nats]',
        '  nats:',
        '    <<: *p',
        '    command: nats-server -c "${CONF}"',
        '    x-ready: [tcp, "127.0.0.1:4222"]',
        '',
      ].join('\n'),
    );
    const services = loadPlatformFile(file, { NODE: ['node', '--import', 'tsx'], ADDR: 'unix:/a b.sock', FLAGS: ['--group=docker', "--label=it's"], NONE: [], CONF: '/c' });
    expect(services).toEqual([
      { name: 'nats', command: ['nats-server', '-c', '/c'], dependsOn: [], healthcheck: ['tcp', '127.0.0.1:4222'] },
      { name: 'api', command: ['node', '--import', 'tsx', 'main.ts', '--listen=unix:/a b.sock', '--group=docker', "--label=it's"], dependsOn: ['nats'], healthcheck: undefined },
    ]);
    expect(() => loadPlatformFile(file, { NODE: [], ADDR: 'x', FLAGS: [], NONE: [] })).toThrow(`${file}: The "CONF" variable is not set`);
  });

  it('refuses a service the host-process backend cannot run, and a broken file, naming the field', () => {
    using dir = tempDir();
    const file = join(dir.path, 'compose.yaml');
    writeFileSync(file, 'services:\n  web:\n    image: busybox\n    command: httpd\n');
    expect(() => loadPlatformFile(file, {})).toThrow(`${file}: services.web.provider.type: the platform runs "host-process" services only`);
    writeFileSync(file, 'services:\n  web:\n    provider: {type: host-process}\n    command: x\n    x-ready: [udp, "1"]\n');
    expect(() => loadPlatformFile(file, {})).toThrow(`${file}: services.web.x-ready: expected [tcp|grpc, address]`);
    writeFileSync(file, 'services:\n  web:\n    provider: {type: host-process}\n    command: x\n    depends_on: [db]\n');
    expect(() => loadPlatformFile(file, {})).toThrow(/Cannot read platform file .*compose\.yaml: .*depends_on.*db/);
  });
});
