/**
 * @module engine/layer/fs-worker
 * Worker-thread side of the fs pool (see fs-pool.ts). It runs batches of
 * small filesystem operations with synchronous fs calls. A sync call inside a
 * worker costs a few microseconds. The same call through libuv's thread pool
 * costs tens to hundreds on a loaded machine, and a small file needs about six
 * calls. The main thread's event loop stays free while the worker runs.
 *
 * Operations run in order, and a batch stops at the first failure. Every path
 * was resolved and checked by the applier: its parent chain is made only of
 * real directories inside the layer root. Final components are never followed
 * (O_EXCL creates, lchown, lutimes).
 */

import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FsBatch, FsBatchResult, FsOp } from './fs-pool.js';

function B(p: string): Buffer {
  return Buffer.from(p, 'latin1');
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

function run(op: FsOp, data: Buffer): void {
  switch (op.t) {
    case 'file': {
      // 'wx' = O_CREAT|O_EXCL: fails rather than follow or reuse anything already at the path.
      const fd = fs.openSync(B(op.p), 'wx', 0o600);
      try {
        if (op.len > 0) writeAll(fd, data.subarray(op.off, op.off + op.len));
        // chown before chmod: chown clears setuid/setgid.
        fs.fchownSync(fd, op.uid, op.gid);
        fs.fchmodSync(fd, op.mode);
        fs.futimesSync(fd, op.at, op.mt);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    case 'symlink': {
      const p = B(op.p);
      fs.symlinkSync(B(op.target), p);
      fs.lchownSync(p, op.uid, op.gid);
      fs.lutimesSync(p, op.at, op.mt);
      return;
    }
    case 'link': {
      const p = B(op.p);
      // link(2) does not follow a symlink target: the new name is the same inode.
      fs.linkSync(B(op.target), p);
      fs.lchownSync(p, op.uid, op.gid);
      // Docker reapplies mode and times from the link's header unless the inode is a symlink.
      if (op.meta) {
        fs.chmodSync(p, op.mode);
        fs.lutimesSync(p, op.at, op.mt);
      }
      return;
    }
    case 'chown-chmod': {
      // Only used on directories and device nodes, never on symlinks, so chmod cannot follow a link.
      const p = B(op.p);
      fs.lchownSync(p, op.uid, op.gid);
      if (op.mode !== null) fs.chmodSync(p, op.mode);
      return;
    }
    case 'times':
      fs.lutimesSync(B(op.p), op.at, op.mt);
      return;
  }
}

parentPort!.on('message', (batch: FsBatch) => {
  const data = Buffer.from(batch.data);
  let result: FsBatchResult = { id: batch.id, error: null };
  for (const op of batch.ops) {
    try {
      run(op, data);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      result = {
        id: batch.id,
        error: { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall },
      };
      break;
    }
  }
  parentPort!.postMessage(result);
});
