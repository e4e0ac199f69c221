/**
 * @berth/compose-controller — the Compose controller: plans and reconciles a loaded project
 * (libs/compose's model) against the platform through the gateway's gRPC API. The CLI runs it
 * in-process (`berth compose up`), as Docker Compose v2 runs client-side; the watcher service keeps
 * declared projects as declared. See docs/dev/compose.md.
 */
export type * from './engine.js';
export { GatewayEngine } from './gateway-engine.js';
export { EngineHealthWaiter, type HealthWaiter, type HealthOutcome } from './health.js';
export { Label, composeVersion, projectFilter, containerLabels, dependsOnLabel, parseDependsOnLabel } from './labels.js';
export type { ProgressEvent, ProgressKind, ProgressSink } from './progress.js';
export { silentProgress } from './progress.js';
export type { ComposeSession } from './session.js';
export { containerPlan, serviceNetworks, type ContainerPlan, type ContainerSpecInput } from './container-spec.js';
export { planService, containerName, divergence, type RecreatePolicy, type ServicePlan, type ServiceTarget } from './convergence.js';
export { projectContainers, byService, shortName, observedContainer, type ObservedContainer } from './observed-state.js';
export { visitServices } from './service-graph.js';
export { ensureImages, buildServices, pullServices, type BuildSupport, type ImageOptions, type PullPolicy } from './images.js';
export { up, runServices, replicasOf, type UpOptions, type UpResult } from './up.js';
export { down, removeServiceContainers, servicesFromLabels, type DownOptions } from './down.js';
export { waitForServices } from './wait-services.js';
export { waitForDependency, healthFailure } from './dependency-wait.js';
export { ensureNetworks, ensureVolumes, usedNetworks, usedVolumes, removeProjectNetworks, removeProjectVolumes } from './project-resources.js';
export { createContainer, startContainer, stopContainer, removeContainer, stopAndRemove } from './container-ops.js';
export { declaredModel, modelOf, isKept, withDeclaration, setDeclaredState, keepDeclared, updatingLeaseMs, undeclare, declarationsUnavailable } from './declared-state.js';
export { ComposeWatcher, type WatcherOptions } from './watcher.js';
export { unrestorableReason, watcherGaps, describeGap, type WatcherGap } from './unrestorable.js';
export { rollingUpdate, updatePolicy, wantsRollingUpdate, type UpdatePolicy, type RollingUpdateInput } from './rolling-update.js';
export { timedEngine, formatTimings, type MethodTiming } from './timed-engine.js';
