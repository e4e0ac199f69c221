import { createHash } from 'node:crypto';
import type { ServiceConfig } from './model.js';
import { goJson, serviceJsonValue } from './render.js';

/**
 * The `com.docker.compose.config-hash` label value for a service, computed as Docker Compose's
 * `ServiceHash`: sha256 of the service's JSON with the fields that do not change its containers
 * removed (build, pull_policy, scale, deploy.replicas, depends_on, profiles). Two loads of the same
 * files give the same hash; changing anything a container is created from changes it.
 */
export function serviceConfigHash(service: ServiceConfig): string {
  const copy: ServiceConfig = { ...service };
  delete copy.build;
  delete copy.pull_policy;
  delete copy.scale;
  delete copy.depends_on;
  delete copy.profiles;
  if (copy.deploy) {
    const deploy = { ...copy.deploy };
    delete deploy.replicas;
    copy.deploy = deploy;
  }
  const json = JSON.stringify(JSON.parse(goJson(serviceJsonValue(copy))));
  return createHash('sha256').update(json).digest('hex');
}
