/**
 * @module engine/cluster
 * Swarm mode and managed plugins, which berth does not have. Clients ask
 * anyway (`docker info`, `docker node ls`, SDK cleanup code that lists
 * services before pruning), and they tell "no swarm here" from a broken
 * daemon by dockerd's answers on a node that never joined a swarm: the
 * errors below (moby's daemon/cluster errors.go and errNoManager) and an
 * empty plugin list. This module is the one place that knows those answers.
 */
import { EngineError, notFound } from './errors.js';

/** What every manager-only call (swarm inspect/update/unlock, nodes, services, tasks, secrets, configs) gets on an inactive node. */
export const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/** `swarm leave` on a node that never joined (moby's errNoSwarm). */
export const NOT_IN_A_SWARM = 'This node is not part of a swarm';

/** The state `docker info` reports for this node (dockerd's types.Info of an inactive node). */
export function swarmInfo() {
  return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive' as const, ControlAvailable: false, Error: '', RemoteManagers: null };
}

/** A manager-only operation: refused as dockerd refuses it when the node is not a manager (503). */
export function notAManager(): EngineError {
  return new EngineError('unavailable', NOT_A_MANAGER);
}

/** `swarm leave`: there is nothing to leave. */
export function notInASwarm(): EngineError {
  return new EngineError('unavailable', NOT_IN_A_SWARM);
}

/**
 * `swarm init` / `swarm join`: dockerd would form or join a cluster; berth
 * cannot, so it says so with the status of the other swarm refusals (503),
 * which clients already read as "swarm not available here".
 */
export function swarmUnsupported(operation: 'init' | 'join'): EngineError {
  return new EngineError('unavailable', `swarm ${operation} is not supported: berth does not implement swarm mode`);
}

/** The managed plugins (none): lookups by name fail as dockerd's plugin store fails them (404). */
export function pluginNotFound(name: string): EngineError {
  return notFound(`plugin "${name}" not found`);
}

/** Installing or building a managed plugin: berth has no plugin runtime. */
export function pluginsUnsupported(): EngineError {
  return new EngineError('notimplemented', 'managed plugins are not supported by berth');
}
