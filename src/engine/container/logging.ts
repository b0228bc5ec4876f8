/**
 * @module engine/container/logging
 * A container's log storage, from its record: which file conmon writes (and
 * how big it may grow), and the rotation kept going while it runs
 * (../logs/rotate.ts). Started when a run starts or is found running at
 * daemon start, stopped when the run ends.
 */
import { logStorage, type LogStorage } from '../logs/driver.js';
import { LogRotator } from '../logs/rotate.js';
import type { OCIRuntime } from '../runtime/runtime.js';
import type { ContainerRecord } from './types.js';

/** The record's log storage; a record from before log drivers had json-file's path in LogPath. */
export function containerLogStorage(dir: string, c: ContainerRecord): LogStorage {
  const cfg = c.HostConfig.LogConfig ?? { Type: 'json-file', Config: {} };
  return logStorage(dir, c.Id, cfg.Type || 'json-file', cfg.Config ?? {});
}

export class LogRotation {
  private readonly running = new Map<string, LogRotator>();

  constructor(private readonly runtime: OCIRuntime) {}

  /** Keeps a running container's log within its max-size and max-file. */
  start(storage: LogStorage, id: string, bundle: string): void {
    if (!storage.file || storage.maxSize === undefined || this.running.has(id)) return;
    const r = new LogRotator({ file: storage.file, maxSize: storage.maxSize, maxFile: storage.maxFile, compress: storage.compress }, () => this.runtime.reopenLog(bundle));
    this.running.set(id, r);
    r.watch();
  }

  /** The run ended: a last rotation check (what conmon cut last is kept), then no more watching. */
  async stop(id: string): Promise<void> {
    const r = this.running.get(id);
    this.running.delete(id);
    await r?.close();
  }

  /** Stops every watcher (daemon shutdown); containers keep running and conmon keeps cutting. */
  close(): void {
    for (const id of [...this.running.keys()]) void this.stop(id);
  }
}
