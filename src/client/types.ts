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
  State?: { Status?: string; Running?: boolean; ExitCode?: number };
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
