import { loadProject } from '@berth/compose';
import { describe, expect, it } from 'vitest';
import { declaredModel, withDeclaration } from './declared-state.js';
import { EngineHealthWaiter } from './health.js';
import { MemoryEngine } from './memory-engine.js';
import type { ComposeSession } from './session.js';
import { up } from './up.js';
import { ComposeWatcher } from './watcher.js';

const yaml = 'services:\n  app: {image: busybox, deploy: {replicas: 2}}\n  db: {image: busybox}\n';
const project = () => loadProject({ cwd: '/srv', environment: { SECRET: 'x' }, configFiles: ['-'], stdin: yaml, projectName: 'p' });

function setup() {
  const engine = new MemoryEngine();
  const warnings: string[] = [];
  const s: ComposeSession = { engine, health: new EngineHealthWaiter(engine), progress: () => undefined, warn: (w) => warnings.push(w) };
  return { engine, s, watcher: new ComposeWatcher(s), warnings };
}

const names = (e: MemoryEngine) => [...e.containers.values()].map((c) => c.name).sort();

describe('declared state', () => {
  it('up -d declares the model without the environment, updating while it works, running after', async () => {
    const { engine, s } = setup();
    await withDeclaration(s, project(), () => declaredModel(project(), { scale: { app: 3 } }), () => up(s, project(), { scale: { app: 3 } }));
    expect(engine.calls.filter((c) => c.startsWith('declare'))).toEqual(['declare p updating', 'declare p running']);
    const model = JSON.parse(engine.declarations.get('p')!.modelJson);
    expect(model.environment).toEqual({});
    expect(model.services.app.deploy.replicas).toBe(3);
  });

  it('a failed up puts the previous declaration back', async () => {
    const { engine, s } = setup();
    await withDeclaration(s, project(), () => declaredModel(project()), () => up(s, project()));
    const before = engine.declarations.get('p')!.modelJson;
    await expect(withDeclaration(s, project(), () => '{"broken":true}', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(engine.declarations.get('p')!.modelJson).toBe(before);
    expect(engine.declarations.get('p')!.state).toBe('running');
  });

  it('the watcher recreates a removed replica of a running declaration, and leaves stopped ones alone', async () => {
    const { engine, s, watcher } = setup();
    await withDeclaration(s, project(), () => declaredModel(project()), () => up(s, project()));
    const gone = [...engine.containers.values()].find((c) => c.name === 'p-app-2')!;
    await engine.removeContainer(gone.id, { force: true });
    await watcher.reconcile('p');
    expect(names(engine)).toEqual(['p-app-1', 'p-app-2', 'p-db-1']);
    expect([...engine.containers.values()].find((c) => c.name === 'p-app-2')!.state).toBe('running');

    const d = engine.declarations.get('p')!;
    await engine.putDeclaration({ ...d, state: 'stopped' });
    await engine.removeContainer([...engine.containers.values()].find((c) => c.name === 'p-db-1')!.id, { force: true });
    await watcher.reconcile('p');
    expect(names(engine)).toEqual(['p-app-1', 'p-app-2']);
  });

  it('the watcher keeps out of a project being updated, and of an undeclared one', async () => {
    const { engine, s, watcher } = setup();
    await up(s, project());
    await engine.removeContainer([...engine.containers.values()].find((c) => c.name === 'p-db-1')!.id, { force: true });
    await watcher.reconcile('p');
    expect(names(engine)).toEqual(['p-app-1', 'p-app-2']);
    await engine.putDeclaration({ name: 'p', modelJson: declaredModel(project()), state: 'updating', updatedBy: 'test' });
    await watcher.reconcile('p');
    expect(names(engine)).toEqual(['p-app-1', 'p-app-2']);
  });

  it('the watcher brings back what it can and says, once, which service it cannot (an environment-sourced secret), never its value', async () => {
    const withSecret = 'services:\n  app: {image: busybox, secrets: [token]}\n  db: {image: busybox}\nsecrets:\n  token: {environment: TOKEN}\n';
    const p2 = () => loadProject({ cwd: '/srv', environment: { TOKEN: 's3cr3t-value' }, configFiles: ['-'], stdin: withSecret, projectName: 'p' });
    const { engine, s } = setup();
    const logged: string[] = [];
    const watcher = new ComposeWatcher(s, { log: (level, message, fields) => logged.push(`${level} ${message} ${JSON.stringify(fields)}`) });
    await withDeclaration(s, p2(), () => declaredModel(p2()), () => up(s, p2()));
    expect(engine.declarations.get('p')!.modelJson).not.toContain('s3cr3t-value');
    for (const name of ['p-app-1', 'p-db-1']) await engine.removeContainer([...engine.containers.values()].find((c) => c.name === name)!.id, { force: true });
    await watcher.reconcile('p');
    await watcher.reconcile('p');
    expect(names(engine)).toEqual(['p-db-1']);
    const warnings = logged.filter((l) => l.startsWith('warn'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'service "app" of project "p" has 0 of 1 declared containers and the compose watcher cannot bring back the others: its secret "token" comes from environment variable "TOKEN", whose value the declaration does not keep; run "berth compose up -d" to create it',
    );
    expect(logged.join('\n')).not.toContain('s3cr3t-value');
    expect(logged.some((l) => l.startsWith('error'))).toBe(false);
    // `up` again has the variable: the gap closes, and the watcher has nothing more to say.
    await withDeclaration(s, p2(), () => declaredModel(p2()), () => up(s, p2()));
    await watcher.reconcile('p');
    expect(names(engine)).toEqual(['p-app-1', 'p-db-1']);
    expect(logged.filter((l) => l.startsWith('warn'))).toHaveLength(1);
  });
});
