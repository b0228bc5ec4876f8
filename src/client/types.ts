/**
 * The Engine API shapes the client reads, in Docker's vocabulary. Only the
 * fields berth's CLI uses are typed; the daemon may send more.
 */

/** Filters as the API takes them: name → values, sent as {"name":{"value":true}}. */
export type Filters = Record<string, string[]>;

export interface ContainerCreateResponse {
  Id: string;
  Warnings?: string[] | null;
}

export interface WaitResponse {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface MountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Driver?: string;
}

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
  Mounts?: MountPoint[] | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  State?: { Status?: string; Running?: boolean; Paused?: boolean; Restarting?: boolean; ExitCode?: number };
  Config?: {
    Tty?: boolean;
    OpenStdin?: boolean;
    AttachStdin?: boolean;
    AttachStdout?: boolean;
    AttachStderr?: boolean;
  };
  HostConfig?: { AutoRemove?: boolean };
}

export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

export interface ServerVersion {
  Platform?: { Name?: string };
  Components?: ComponentVersion[] | null;
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

/** GET /info; read loosely since `docker info` prints whatever is there. */
export type SystemInfo = Record<string, unknown>;

/** POST /containers/{id}/exec, in the Go client's field order. */
export interface ExecCreateBody {
  User: string;
  Privileged: boolean;
  Tty: boolean;
  /** [height, width], only with a TTY. */
  ConsoleSize?: [number, number];
  AttachStdin: boolean;
  AttachStderr: boolean;
  AttachStdout: boolean;
  Detach: boolean;
  DetachKeys: string;
  Env: string[] | null;
  WorkingDir: string;
  Cmd: string[];
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ContainerID: string;
  Pid?: number;
}

export type { PathStat } from '../common/pathstat.js';

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** One document of GET /containers/{id}/stats (the Linux fields docker stats reads). */
export interface StatsResponse {
  name?: string;
  id?: string;
  read?: string;
  preread?: string;
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: { io_service_bytes_recursive?: { major?: number; minor?: number; op: string; value: number }[] | null };
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> | null };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }> | null;
}

/** One message of GET /events. */
export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> | null };
  scope?: string;
  time?: number;
  timeNano?: number;
}
