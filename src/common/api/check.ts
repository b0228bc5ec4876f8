/**
 * @module common/api/check
 * berth's own `POST /berth/system/check` answer (no Docker counterpart):
 * what `berth system check` found in the data root and, with `repair`,
 * what it did about each finding.
 */

/** What kind of damage or leftover a finding is; one word per store concept. */
export type CheckFindingKind =
  | 'blob-corrupt'
  | 'blob-stray'
  | 'blob-unreferenced'
  | 'labels-orphan'
  | 'ingest-stale'
  | 'record-unreadable'
  | 'image-config-missing'
  | 'image-blob-missing'
  | 'image-layer-missing'
  | 'tag-dangling'
  | 'layer-unreferenced'
  | 'snapshot-orphan'
  | 'snapshot-incomplete'
  | 'snapshot-missing'
  | 'snapshot-tmp'
  | 'link-dangling'
  | 'mount-leftover'
  | 'netns-leftover'
  | 'lease-leftover'
  | 'ipam-leftover'
  | 'bridge-leftover'
  | 'iptables-leftover'
  | 'portmap-leftover'
  | 'container-dead'
  | 'container-untracked'
  | 'container-incomplete'
  | 'container-trash'
  | 'volume-unrecorded'
  | 'cache-layer-missing'
  | 'temp-leftover';

export interface CheckFinding {
  Kind: CheckFindingKind;
  /** What is affected: a digest, a snapshot name, a container ID, a path, an interface. */
  Subject: string;
  Message: string;
  /** What a repair does (or did) about it; absent when only the user can act (re-pull, rmi). */
  Action?: string;
  /** With repair: whether the action succeeded. */
  Repaired?: boolean;
  /** With repair: why the action failed. */
  Error?: string;
}

export interface CheckReport {
  /** Whether findings were repaired. */
  Repair: boolean;
  /** Whether every blob was read and hashed (the full check); the cheap one only looks at structure. */
  Full: boolean;
  /** How many of each thing were looked at. */
  Checked: Record<string, number>;
  Findings: CheckFinding[];
}
