/**
 * @module common/api/image
 * Docker's image shapes as the Engine API spec names them (ImageSummary,
 * ImageDeleteResponseItem, ImagePruneResponse, ImageHistoryResponseItem…).
 */

/** ImageSummary: one entry of GET /images/json. */
export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  /** Before API 1.44: the same as Size. */
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

/** ImageDeleteResponseItem: one line of DELETE /images/{name}'s answer. */
export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

/** IDResponse: an answer that is just an ID (POST /commit). */
export interface IdResponse {
  Id: string;
}

/** POST /images/prune's answer. */
export interface ImagePruneResponse {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

/** ImageHistoryResponseItem: one entry of GET /images/{name}/history. */
export interface ImageHistoryResponseItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** The query of POST /images/create when it imports a tarball (`docker import`). */
export interface ImageImportOptions {
  /** "-" for the request body, or a URL the daemon downloads. */
  fromSrc: string;
  /** The reference the image gets ("repo:tag" or just the repository), if any. */
  repo?: string;
  tag?: string;
  message?: string;
  changes?: string[];
}
