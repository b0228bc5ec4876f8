/**
 * @module engine/exec/sessions
 * The table of exec sessions, by exec ID. Made before the container service
 * and the exec service and given to both: the exec service keeps its
 * sessions here, the container service reads a container's ExecIDs from it
 * and reports stops and removals to it (ExecHooks), so neither service is
 * wired into the other after construction.
 */
import type { ExecHooks } from '../container/context.js';

export interface ExecSession {
  id: string;
  containerId: string;
  entrypoint: string;
  args: string[];
  tty: boolean;
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  privileged: boolean;
  user: string;
  workingDir: string;
  env: string[];
  detachKeys: Buffer;
  consoleSize?: [number, number];
  running: boolean;
  /** Set once start() was called: a session starts at most once. */
  startCalled: boolean;
  exitCode: number | null;
  pid: number;
  canRemove: boolean;
  /** Settles once the process runs or failed to start (resize waits for it). */
  started: Promise<void>;
  markStarted: () => void;
  dir: string;
}

export class ExecSessions extends Map<string, ExecSession> implements ExecHooks {
  /** A container's sessions that have not finished (its ExecIDs), oldest first. */
  idsFor(containerId: string): string[] {
    return [...this.values()].filter((s) => s.containerId === containerId && s.exitCode === null).map((s) => s.id);
  }

  /** The container stopped: sessions never started go (moby drops them with the container's exec store). */
  containerStopped(containerId: string): void {
    for (const s of this.values()) {
      if (s.containerId === containerId && !s.startCalled) this.delete(s.id);
    }
  }

  /** The container is gone: so are its sessions that are not running. */
  containerRemoved(containerId: string): void {
    for (const s of this.values()) {
      if (s.containerId === containerId && !s.running) this.delete(s.id);
    }
  }
}
