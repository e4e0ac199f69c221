import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceConfigHash } from './config-hash.js';
import { loadProject } from './load-project.js';

const dir = mkdtempSync(join(tmpdir(), 'compose-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hashOf(yaml: string, service = 'web'): string {
  writeFileSync(join(dir, 'compose.yaml'), yaml);
  const project = loadProject({ cwd: dir, environment: {} });
  return serviceConfigHash(project.services[service]!);
}

const base = 'services:\n  web:\n    image: nginx\n    environment:\n      A: "1"\n';

describe('serviceConfigHash (compose ServiceHash)', () => {
  it('is stable and ignores what does not change containers', () => {
    const h = hashOf(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOf(base)).toBe(h);
    expect(hashOf(`${base}    deploy:\n      replicas: 3\n`)).toBe(hashOf(`${base}    deploy:\n      replicas: 1\n`));
    expect(hashOf(`${base}    scale: 2\n`)).toBe(h);
    expect(hashOf(`${base}    pull_policy: always\n`)).toBe(h);
    expect(hashOf(`${base}    build: .\n`)).toBe(h);
    expect(hashOf(`${base}    depends_on: [db]\n  db:\n    image: db\n`)).toBe(h);
    expect(hashOf(`${base.replace('environment:\n      A: "1"\n', 'environment: [A=1]\n')}`)).toBe(h);
  });

  it('changes with what the container is created from', () => {
    const h = hashOf(base);
    expect(hashOf(base.replace('A: "1"', 'A: "2"'))).not.toBe(h);
    expect(hashOf(base.replace('nginx', 'nginx:1.27'))).not.toBe(h);
    expect(hashOf(`${base}    ports: ["80:80"]\n`)).not.toBe(h);
  });
});
