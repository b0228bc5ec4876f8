/**
 * Container data types, in Docker's API vocabulary: the create body's Config
 * and HostConfig, the State object, and berth's persisted record.
 */
import type { Digest } from '../../common/reference/digest.js';
import type { ImageRunConfig } from '../image/types.js';

/** Container states and Docker's names for them. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Config as a container carries it (an image run config plus the create-only fields). */
export interface ContainerConfig extends ImageRunConfig {
  Image: string;
  NetworkDisabled?: boolean;
  MacAddress?: string;
}

export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: { Type: string; Config: Record<string, string> };
  NetworkMode?: string;
  PortBindings?: Record<string, { HostIp: string; HostPort: string }[]> | null;
  RestartPolicy?: { Name: string; MaximumRetryCount: number };
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  ConsoleSize?: [number, number];
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string> | null;
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  Isolation?: string;
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: unknown[] | null;
  DeviceCgroupRules?: string[] | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  Init?: boolean | null;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  [key: string]: unknown;
}

/** The create request body (POST /containers/create). */
export interface CreateBody extends Partial<ContainerConfig> {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
}

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
}
