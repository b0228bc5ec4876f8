/**
 * @module engine/layer/fs-pool
 * A small shared pool of worker threads that run batches of filesystem
 * operations for the layer applier (see fs-worker.ts for why). The pool is
 * created on first use and shared by all concurrent applyLayer calls. A worker
 * only keeps the process alive while one of its batches is outstanding.
 */

import * as os from 'node:os';
import { Worker } from 'node:worker_threads';

/** One filesystem operation. Paths are absolute byte strings (latin1). */
export type FsOp =
  | {
      t: 'file';
      p: string;
      /** Slice of the batch's data buffer holding the file content. */
      off: number;
      len: number;
      uid: number;
      gid: number;
      mode: number;
      at: number;
      mt: number;
    }
  | { t: 'symlink'; p: string; target: string; uid: number; gid: number; at: number; mt: number }
  | {
      t: 'link';
      p: string;
      target: string;
      uid: number;
      gid: number;
      mode: number;
      at: number;
      mt: number;
      /** false when the linked inode is a symlink: only lchown then. */
      meta: boolean;
    }
  | { t: 'chown-chmod'; p: string; uid: number; gid: number; mode: number | null }
  | { t: 'times'; p: string; at: number; mt: number };

export interface FsBatch {
  id: number;
  ops: FsOp[];
  /** File contents for all `file` ops, transferred (not copied) to the worker. */
  data: ArrayBuffer;
}

export interface FsBatchResult {
  id: number;
  error: { message: string; code?: string; errno?: number; syscall?: string } | null;
}

interface Slot {
  worker: Worker;
  outstanding: number;
}

interface Waiter {
  slot: Slot;
  resolve: () => void;
  reject: (err: Error) => void;
}

const WORKER_URL = new URL('./fs-worker.js', import.meta.url);

class FsPool {
  private readonly slots: Slot[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;

  constructor(private readonly size: number) {}

  /** Runs the operations in order on one worker. Rejects with the first failing operation's error. */
  run(ops: FsOp[], data: ArrayBuffer): Promise<void> {
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiters.set(id, { slot, resolve, reject });
      if (slot.outstanding++ === 0) slot.worker.ref();
      const batch: FsBatch = { id, ops, data };
      slot.worker.postMessage(batch, [data]);
    });
  }

  /** Least-loaded worker. A new one is started while the pool is below its size and all are busy. */
  private pick(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (best === undefined || s.outstanding < best.outstanding) best = s;
    if (best !== undefined && (best.outstanding === 0 || this.slots.length >= this.size)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, outstanding: 0 };
    worker.unref();
    worker.on('message', (res: FsBatchResult) => {
      const w = this.waiters.get(res.id);
      if (w === undefined) return;
      this.waiters.delete(res.id);
      if (--slot.outstanding === 0) worker.unref();
      if (res.error === null) {
        w.resolve();
      } else {
        const err = new Error(res.error.message) as NodeJS.ErrnoException;
        err.code = res.error.code;
        err.errno = res.error.errno;
        err.syscall = res.error.syscall;
        w.reject(err);
      }
    });
    const fail = (err: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i !== -1) this.slots.splice(i, 1);
      for (const [id, w] of this.waiters) {
        if (w.slot !== slot) continue;
        this.waiters.delete(id);
        w.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`layer fs worker exited unexpectedly (code ${code})`)));
    this.slots.push(slot);
    return slot;
  }
}

/** Creating files is mostly kernel time, so a couple of workers per core is plenty; more just contend. */
export const fsPool = new FsPool(Math.max(1, Math.min(4, os.availableParallelism())));
