import type { Project, ServiceConfig } from './model.js';

/**
 * Small questions the controller and `compose config` ask of a loaded project.
 */

/** The image a service runs: `image:`, else `<project>-<service>` (what Compose names a built image). */
export function imageName(project: Pick<Project, 'name'>, serviceName: string, service: ServiceConfig): string {
  return service.image ?? `${project.name}-${serviceName}`;
}

/**
 * Service names with every dependency before the services that depend on it (ties in name
 * order). The model has no cycles: the loader refused them.
 */
export function dependencyOrder(project: Pick<Project, 'services'>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const deps = project.services[name]?.depends_on ?? {};
    for (const dep of Object.keys(deps).sort()) if (project.services[dep]) visit(dep);
    out.push(name);
  };
  for (const name of Object.keys(project.services).sort()) visit(name);
  return out;
}
