/**
 * @module common/api/system
 * Docker's system shapes (SystemVersion, SystemInfo, the `system df` answer,
 * EventMessage).
 */
import type { ContainerSummary } from './container.js';
import type { ImageSummary } from './image.js';
import type { Volume } from './volume.js';

export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

/** SystemVersion: GET /version. */
export interface SystemVersion {
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

/** GET /system/df. */
export interface SystemDataUsageResponse {
  LayersSize: number;
  /** Every image, with how many containers use it and the size it shares with others. */
  Images: (ImageSummary & { Containers: number; SharedSize: number })[];
  Containers: ContainerSummary[];
  Volumes: Volume[];
  BuildCache: BuildCache[];
}

/** One build cache record of GET /system/df (the API's BuildCache type). */
export interface BuildCache {
  ID: string;
  Parent?: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string;
  UsageCount: number;
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

/** Docker's AuthConfig: the body of POST /auth, and what the CLI sends base64url-encoded in X-Registry-Auth. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}
