/**
 * @module engine/container/types
 * berth's persisted container record (config.v2.json). Docker's shapes it
 * holds (Config, HostConfig, State) are the shared API types of
 * common/api/container, re-exported here for the engine's convenience.
 */
import type { Digest } from '../../common/reference/digest.js';
import type {
  ContainerConfig as ApiContainerConfig,
  ContainerCreateBody,
  ContainerState,
  HostConfig,
} from '../../common/api/container.js';

export type { ContainerCreateBody, ContainerState, ContainerStatus, HostConfig } from '../../common/api/container.js';
export { ZERO_TIME } from '../../common/api/container.js';

/** Config as a record keeps it: the API's ContainerConfig, with the image always named. */
export interface ContainerConfig extends ApiContainerConfig {
  Image: string;
}

/** The create body under the name the container service uses. */
export type CreateBody = ContainerCreateBody;

/** What berth persists per container (config.v2.json); inspect is derived from it. */
export interface ContainerRecord {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  /** The image ID the container was created from. */
  Image: Digest;
  Name: string;
  RestartCount: number;
  /** Stopped by `docker stop`/`kill`: restart policies (but `always` at daemon start) leave it stopped. */
  HasBeenManuallyStopped?: boolean;
  /** Restarts since the last manual start, for on-failure's retry limit. */
  RestartsSinceStart?: number;
  /** Current restart back-off in ms (0 = none yet). */
  RestartDelayMs?: number;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** The image's layer chain (bottom first): what the container's rootfs stacks on, kept even if the image is deleted. */
  LayerChain: Digest[];
  LogPath: string;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  /** Bind and tmpfs mounts, resolved at create. */
  UserMounts?: import('./mounts.js').UserMount[];
  /** While running: the network it is attached to (namespace, address, published ports), to undo at exit. */
  NetworkAttachment?: import('../network/service.js').NetworkAttachment;
  /** The networks it is configured for (NetworkingConfig, `network connect`), by network name, with its settings on each. */
  EndpointsConfig?: Record<string, import('../network/networks.js').EndpointConfig>;
}
