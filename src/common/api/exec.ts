/**
 * @module common/api/exec
 * Docker's exec shapes (ExecConfig as the create body, ExecStartConfig,
 * ExecInspectResponse).
 */

/** ExecConfig: the body of POST /containers/{id}/exec as a daemon accepts it (every field may be left out). */
export interface ExecConfig {
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  /** [height, width], only with a TTY; API ≥ 1.42. */
  ConsoleSize?: [number, number] | null;
  AttachStdin?: boolean;
  AttachStderr?: boolean;
  AttachStdout?: boolean;
  Detach?: boolean;
  DetachKeys?: string;
  Env?: string[] | null;
  WorkingDir?: string;
  Cmd?: string[] | null;
}

/** The same body as the Go client sends it: every field set, in its field order. */
export interface ExecCreateBody extends ExecConfig {
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

/** POST /exec/{id}/start's body. */
export interface ExecStartConfig {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

/** GET /exec/{id}/json, as far as a client reads it. */
export interface ExecInspectResponse {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ContainerID: string;
  Pid?: number;
  [key: string]: unknown;
}
