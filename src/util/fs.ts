/**
 * Small filesystem helpers shared by every store: atomic writes (temp file +
 * fsync + rename) so a daemon killed at any moment leaves either the old or the
 * new file, never a torn one.
 */
import fs, { promises as fsp, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crashPoint } from './crash.js';

export async function atomicWriteFile(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = path.join(path.dirname(file), `.tmp-${path.basename(file)}-${randomBytes(6).toString('hex')}`);
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  crashPoint('fs.temp-written');
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  crashPoint('fs.renamed');
}

export async function atomicWriteJson(file: string, value: unknown, mode = 0o644): Promise<void> {
  await atomicWriteFile(file, JSON.stringify(value), mode);
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

/** Reads a JSON file, or returns undefined when it does not exist. */
export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return await readJson<T>(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Total bytes of regular files and symlinks under a directory (hardlinks
 * counted once), like `du -b` roughly. Synchronous calls in batches that
 * yield: an async fs call per file costs a thread-pool round trip, which for
 * big trees is many times the work itself.
 */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  let calls = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++calls % 256 === 0) await new Promise((r) => setImmediate(r));
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
      } else if (e.isFile() || e.isSymbolicLink()) {
        const st = fs.lstatSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.nlink > 1 && e.isFile()) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}

/** Writes every byte of `bufs` at the file position (writev may write less than asked). */
export async function writevAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length) {
    let skip = (await fh.writev(rest)).bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      next.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
}
