/**
 * moby's container.PathStat: what the archive endpoints (`docker cp`) say
 * about a path, sent as the `X-Docker-Container-Path-Stat` header (JSON,
 * base64). Shared by the daemon that writes it and the client that reads it.
 */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits. */
  mode: number;
  /** RFC 3339 with nanoseconds, as Go's time.Time marshals. */
  mtime: string;
  linkTarget: string;
}
