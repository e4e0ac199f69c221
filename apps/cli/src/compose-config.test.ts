import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BERTH_CLI, type CliResult, runCli } from '@berth/testing';

/**
 * `berth compose config` through the real launcher, as a user runs it: no platform is running
 * (BERTH_HOST points nowhere), the output is Docker Compose's.
 */

const dir = mkdtempSync(join(tmpdir(), 'berth-compose-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(
  join(dir, 'compose.yaml'),
  `name: demo
services:
  web:
    image: nginx:\${TAG:-1.25}
    ports: ["8080:80"]
    depends_on: [api]
    environment:
      PASSWORD: $$secret
  api:
    build: ./api
    profiles: [backend]
    deploy:
      replicas: 2
volumes:
  data: {}
`,
);
writeFileSync(join(dir, 'broken.yaml'), 'services:\n  web:\n    image: busybox\n    ports:\n      - "80:abc"\n');

function berth(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(BERTH_CLI, args, { cwd: dir, env: { PATH: process.env.PATH!, HOME: dir, BERTH_HOST: 'unix:/nonexistent/api.sock', ...options.env }, input: options.stdin ?? '' });
}

describe('berth compose config', () => {
  it('prints the normalized model as YAML without a platform', async () => {
    const r = await berth(['compose', '--profile', 'backend', 'config']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`name: demo
services:
  api:
    build:
      context: ${dir}/api
      dockerfile: Dockerfile
    deploy:
      replicas: 2
    networks:
      default: null
    profiles:
      - backend
  web:
    depends_on:
      api:
        condition: service_started
        required: true
    environment:
      PASSWORD: $$secret
    image: nginx:1.25
    networks:
      default: null
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp
networks:
  default:
    name: demo_default
volumes:
  data:
    name: demo_data
`.replace('    profiles:\n      - backend\n', '').replace('  api:\n    build:', '  api:\n    profiles:\n      - backend\n    build:'));
  });

  it('answers --services, --volumes, --profiles, --images and --hash', async () => {
    expect((await berth(['compose', 'config', '--services', '--profile', 'backend'])).stdout).toBe('api\nweb\n');
    expect((await berth(['compose', 'config', '--volumes', '--profile', 'backend'])).stdout).toBe('data\n');
    expect((await berth(['compose', 'config', '--profiles', '--profile', 'backend'])).stdout).toBe('backend\n');
    expect((await berth(['compose', '--profile', '*', 'config', '--images'])).stdout).toBe('demo-api\nnginx:1.25\n');
    const hash = await berth(['compose', 'config', '--hash', '*', '--profile', 'backend']);
    expect(hash.stdout).toMatch(/^api [0-9a-f]{64}\nweb [0-9a-f]{64}\n$/);
    const again = await berth(['compose', '--profile', 'backend', 'config', '--hash', 'web']);
    expect(again.stdout).toBe(hash.stdout.split('\n')[1] + '\n');
  });

  it('refuses a dependency on a service its profile disabled', async () => {
    const r = await berth(['compose', 'config']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('compose.yaml:6: services.web.depends_on.api: service "web" depends on service "api", which is disabled: enable one of its profiles ("backend")\n');
  });

  it('prints JSON, honours -p, --env-file, -o and -q, and reads -f - from stdin', async () => {
    writeFileSync(join(dir, 'tag.env'), 'TAG=1.27\n');
    const json = await berth(['compose', '-p', 'other', '--env-file', 'tag.env', '--profile', 'backend', 'config', '--format', 'json']);
    const doc = JSON.parse(json.stdout);
    expect(doc.name).toBe('other');
    expect(doc.services.web.image).toBe('nginx:1.27');
    expect(doc.services.web.command).toBeNull();
    expect(Object.keys(doc)).toEqual(['name', 'networks', 'services', 'volumes']);
    const out = join(dir, 'out.yaml');
    expect((await berth(['compose', '--profile', 'backend', 'config', '-o', out])).stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toContain('name: demo\n');
    expect(await berth(['compose', '--profile', 'backend', 'config', '-q'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const stdin = await berth(['compose', '-f', '-', 'config', '--services'], { stdin: 'services:\n  from-stdin:\n    image: busybox\n' });
    expect(stdin.stdout).toBe('from-stdin\n');
  });

  it('keeps variables with --no-interpolate', async () => {
    const r = await berth(['compose', '--profile', 'backend', 'config', '--no-interpolate']);
    expect(r.stdout).toContain('image: nginx:${TAG:-1.25}\n');
  });

  it('names the file and field of an error, and exits 1', async () => {
    const r = await berth(['compose', '-f', 'broken.yaml', 'config']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'broken.yaml:5: services.web.ports[0]: invalid port "80:abc": invalid container port "abc"\n' });
  });

  it('rejects an invalid project name with the rule', async () => {
    const r = await berth(['compose', '-p', 'My App', 'config']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Invalid project name "My App" (from -p): project names must contain only lowercase letters, decimal digits, dashes, and underscores, and must begin with a lowercase letter or decimal digit\n',
    );
  });
});

