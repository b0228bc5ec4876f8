/**
 * @module common/api/container
 * Docker's container shapes, named as the Engine API spec names them
 * (definitions ContainerConfig, HostConfig, ContainerState, ContainerSummary,
 * ContainerInspectResponse…). The CLI builds a {@link ContainerCreateBody},
 * the daemon's compat layer reads it and the engine keeps its Config and
 * HostConfig in its records, so a flag and the field it sets are one type.
 *
 * Fields are optional where the API lets a client leave them out; responses
 * list what berth sends (a client reads them loosely: other daemons may send
 * more or less).
 */
import type { EndpointSettings } from './network.js';

/** Container states and Docker's names for them (ContainerState.Status). */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** Docker's zero time, what StartedAt/FinishedAt say before the event. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** ContainerState: the `State` of inspect. */
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
  /** Only for a container with a healthcheck. */
  Health?: Health;
}

/** One healthcheck probe's result (State.Health.Log). */
export interface HealthcheckResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health: the healthcheck's status, failures in a row, the last five results. */
export interface Health {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthcheckResult[];
}

/** HealthConfig: a container's (or image's) health check. */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/**
 * ContainerConfig: the configuration that does not depend on the host (an
 * image's `config` carries the same fields). On the wire it is the create
 * body's top level and inspect's `Config`.
 */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  /** `"<port>/<proto>"` → {}. */
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: unknown;
  ArgsEscaped?: boolean;
  Image?: string;
  /** Anonymous volumes: container path → {}. */
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[] | null;
}

/** PortBinding: one host side of a published port (HostPort may be a range "8000-8010" or empty for any). */
export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** PortMap: `"<port>/<proto>"` → its host bindings (null: exposed, not published). */
export type PortMap = Record<string, PortBinding[] | null>;

/** RestartPolicy: name is "", "no", "always", "unless-stopped" or "on-failure". */
export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export type MountType = 'bind' | 'volume' | 'tmpfs' | 'image' | 'npipe' | 'cluster';

/** Mount: one entry of HostConfig.Mounts (`--mount`). */
export interface Mount {
  Type?: MountType | string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> }; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

/** Resources: the part of HostConfig that `docker update` may change. */
export interface Resources {
  CpuShares?: number;
  Memory?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  BlkioWeightDevice?: unknown[] | null;
  BlkioDeviceReadBps?: unknown[] | null;
  BlkioDeviceWriteBps?: unknown[] | null;
  BlkioDeviceReadIOps?: unknown[] | null;
  BlkioDeviceWriteIOps?: unknown[] | null;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: unknown[] | null;
  DeviceCgroupRules?: string[] | null;
  DeviceRequests?: unknown[] | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  NanoCpus?: number;
  OomKillDisable?: boolean | null;
  Init?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  CpuCount?: number;
  CpuPercent?: number;
  IOMaximumIOps?: number;
  IOMaximumBandwidth?: number;
}

/** HostConfig: the container's configuration that depends on the host. */
export interface HostConfig extends Resources {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: LogConfig;
  NetworkMode?: string;
  PortBindings?: PortMap | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: Mount[] | null;
  /** [height, width] of the client's terminal, for a TTY. */
  ConsoleSize?: [number, number] | null;
  Annotations?: Record<string, string> | null;
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
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
}

/** NetworkingConfig: the create body's endpoint settings, by network name. */
export interface NetworkingConfig {
  EndpointsConfig?: Record<string, Partial<EndpointSettings>> | null;
}

/** The body of POST /containers/create (Go's container.CreateRequest): Config with HostConfig and NetworkingConfig beside it. */
export interface ContainerCreateBody extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig | null;
}

/** The body of POST /containers/{id}/update (ContainerUpdateRequest): resources and the restart policy. */
export interface ContainerUpdateBody extends Resources {
  RestartPolicy?: RestartPolicy;
}

/** POST /containers/create's answer. */
export interface ContainerCreateResponse {
  Id: string;
  Warnings?: string[] | null;
}

/** POST /containers/{id}/update's answer. */
export interface ContainerUpdateResponse {
  Warnings: string[] | null;
}

/** POST /containers/{id}/wait's answer. */
export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

/** The `condition` of a wait. */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** POST /containers/prune's answer. */
export interface ContainerPruneResponse {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** PortSummary: one entry of a listed container's `Ports`. */
export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** MountPoint: one entry of a container's `Mounts` (list and inspect). */
export interface MountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Driver?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

/** ContainerSummary: one entry of GET /containers/json. */
export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created: number;
  Ports?: PortSummary[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  HostConfig?: { NetworkMode?: string; Annotations?: Record<string, string> | null };
  Mounts?: MountPoint[] | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

/**
 * ContainerInspectResponse: GET /containers/{id}/json. Typed as far as a
 * client reads it; the daemon sends the full object.
 */
export interface ContainerInspectResponse {
  Id: string;
  Name: string;
  Created?: string;
  Path?: string;
  Args?: string[];
  State?: Partial<ContainerState>;
  Image?: string;
  Config?: ContainerConfig;
  HostConfig?: HostConfig;
  NetworkSettings?: { Ports?: PortMap | null; Networks?: Record<string, EndpointSettings> | null; [key: string]: unknown };
  [key: string]: unknown;
}

/** ContainerChangeResponseItem (GET /containers/{id}/changes): Kind 0 modified, 1 added, 2 deleted. */
export interface FilesystemChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** ContainerTopResponse. */
export interface ContainerTopResponse {
  Titles: string[];
  Processes: string[][];
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null; usage_in_kernelmode?: number; usage_in_usermode?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
}

/** ContainerStatsResponse: one document of GET /containers/{id}/stats (the Linux fields). */
export interface ContainerStatsResponse {
  name?: string;
  id?: string;
  read?: string;
  preread?: string;
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: { io_service_bytes_recursive?: { major?: number; minor?: number; op: string; value: number }[] | null };
  num_procs?: number;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> | null };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }> | null;
}
