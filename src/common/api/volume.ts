/**
 * @module common/api/volume
 * Docker's volume shapes as the Engine API spec names them (Volume,
 * VolumeCreateRequest, VolumeListResponse, VolumePruneResponse).
 */

/** Volume: inspect, list and create's answer; UsageData only in `system df`. */
export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local' | 'global';
  UsageData?: { Size: number; RefCount: number };
}

/** POST /volumes/create's body. */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** GET /volumes's answer. */
export interface VolumeListResponse {
  Volumes: Volume[] | null;
  Warnings: string[] | null;
}

/** POST /volumes/prune's answer. */
export interface VolumePruneResponse {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}
