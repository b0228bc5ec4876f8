/**
 * @module engine/logs/rotate
 * Log rotation (`--log-opt max-size=10m max-file=3`): a container's log
 * never holds more than max-file files of about max-size each, whether or
 * not berthd is running.
 *
 * conmon does the cutting: started with `--log-size-max <max-size>` it
 * counts what it writes and, before a write would pass the limit, replaces
 * the file with an empty one (it opens `<file>.tmp` and renames it over the
 * file; conmon 2.1's ctr_logging.c reopen_k8s_file). Alone that throws the
 * old file away. berth keeps it: it holds a second name for the file being
 * written (a hard link, `<file>.hold`), so when conmon's rename unlinks the
 * old name the data lives on under the hold name; berth then renames it to
 * `<file>.1` (after moving `.1` to `.2` and so on, dropping the oldest) and
 * links the new file as the hold. With `compress`, `.1` becomes `.1.gz`.
 *
 * conmon's count starts at zero in each conmon, and a container started
 * again appends to its old file, so berth also rotates a file it finds at
 * or past max-size (renaming it itself and asking conmon to reopen through
 * the control FIFO). While berthd is down conmon still cuts at max-size, so
 * the disk stays bounded; the files conmon cut then are lost beyond the one
 * the hold name kept. The hold name is moved to the new file before the
 * old one is compressed, so a slow gzip never leaves a cut file unheld.
 *
 * Rotated files are named as dockerd names json-file's: `<file>.1` is the
 * newest, `<file>.N.gz` when compressed. logSegments() lists them for
 * readers, oldest first.
 */
import { createReadStream, createWriteStream, promises as fsp, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface RotationSettings {
  /** The file conmon writes. */
  file: string;
  maxSize: number;
  /** Files kept, the one being written included. */
  maxFile: number;
  compress: boolean;
}

const holdName = (file: string) => `${file}.hold`;

async function inode(p: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(p)).ino;
  } catch {
    return undefined;
  }
}

/** Rotated files `<file>.N` / `<file>.N.gz` by N. */
async function rotated(file: string): Promise<Map<number, string>> {
  const base = path.basename(file);
  const found = new Map<number, string>();
  let names: string[];
  try {
    names = await fsp.readdir(path.dirname(file));
  } catch {
    return found;
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
    if (!m) continue;
    const n = Number(m[1]);
    // A .gz beside its plain file is a compression under way: the plain one is whole.
    if (!m[2] || !found.has(n)) found.set(n, path.join(path.dirname(file), name));
  }
  return found;
}

/**
 * A log's files, oldest first, ending with the file being written (which may
 * not exist): what `docker logs` reads. Includes the hold name when conmon
 * has cut the file and berth has not yet renamed the old one.
 */
export async function logSegments(file: string): Promise<string[]> {
  const r = await rotated(file);
  const out = [...r.keys()].sort((a, b) => b - a).map((n) => r.get(n)!);
  const hold = await inode(holdName(file));
  if (hold !== undefined && hold !== (await inode(file)) && (r.size === 0 || hold !== (await inode(out[out.length - 1]!)))) out.push(holdName(file));
  out.push(file);
  return out;
}

/** Every file a log occupies (for removal and size accounting): segments and the hold name. */
export async function logFiles(file: string): Promise<string[]> {
  return [...(await rotated(file)).values(), file, holdName(file)];
}

/**
 * Rotation for one running container. check() is idempotent and cheap when
 * nothing is to be done; watch() calls it when the log's directory changes.
 */
export class LogRotator {
  private chain: Promise<void> = Promise.resolve();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private interval?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly s: RotationSettings,
    /** Asks conmon to reopen its log file (the control FIFO); rejects when no conmon listens. */
    private readonly reopen: () => Promise<void>,
  ) {}

  /** Runs check() on changes to the log's directory (conmon's rename, writes), and every 5 s in case inotify missed one. */
  watch(): void {
    const base = path.basename(this.s.file);
    try {
      this.watcher = watch(path.dirname(this.s.file), (_e, name) => {
        if (name && !String(name).startsWith(base)) return;
        if (this.timer) return;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.check();
        }, 10);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No directory yet: the interval below still checks.
    }
    this.interval = setInterval(() => void this.check(), 5000);
    this.interval.unref();
    void this.check();
  }

  /** Stops watching, after a last check (the run ended: conmon's last cut is kept). */
  async close(): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.timer);
    clearInterval(this.interval);
    await this.check();
    this.closed = true;
  }

  /** Keeps what conmon cut, rotates a file at or past max-size, and keeps the hold name on the file being written. */
  check(): Promise<void> {
    if (this.closed) return this.chain;
    this.chain = this.chain.then(() => this.step()).catch(() => undefined);
    return this.chain;
  }

  private async step(): Promise<void> {
    const { file } = this.s;
    const hold = holdName(file);
    const cur = await fsp.stat(file).catch(() => undefined);
    const held = await inode(hold);
    let rotated = false;
    if (held !== undefined && held !== cur?.ino && cur) {
      // conmon cut the file: the hold name is the newest rotated file.
      rotated = await this.shift(hold);
    } else if (cur && cur.size >= this.s.maxSize) {
      // Too big from before this conmon (a restart appends): berth cuts it, conmon reopens.
      await fsp.rm(hold, { force: true });
      rotated = await this.shift(file);
      await this.reopen().catch(() => undefined);
    }
    // The hold name follows the file being written, at once: conmon's next cut needs it.
    const now = await inode(file);
    if (now !== undefined && now !== (await inode(hold))) {
      await fsp.rm(hold, { force: true });
      await fsp.link(file, hold).catch(() => undefined);
    }
    // Only then the gzip, which takes a while.
    if (rotated && this.s.compress) await this.compress(`${file}.1`);
  }

  /** `.1` → `.1.gz` (written aside, then renamed: a reader sees one or the other whole). */
  private async compress(first: string): Promise<void> {
    const tmp = `${first}.gz.tmp`;
    await pipeline(createReadStream(first), createGzip(), createWriteStream(tmp));
    await fsp.rename(tmp, `${first}.gz`);
    await fsp.rm(first, { force: true });
  }

  /** Moves `.N` to `.N+1` (dropping those past max-file), then `src` to `.1`; false when max-file 1 drops `src` instead. */
  private async shift(src: string): Promise<boolean> {
    const { file, maxFile } = this.s;
    const r = await rotated(file);
    for (const [n, p] of r) if (n >= maxFile - 1) await fsp.rm(p, { force: true });
    for (let n = maxFile - 2; n >= 1; n--) {
      const p = r.get(n);
      if (p) await fsp.rename(p, p.replace(new RegExp(`\\.${n}(\\.gz)?$`), `.${n + 1}$1`));
    }
    if (maxFile <= 1) {
      await fsp.rm(src, { force: true });
      return false;
    }
    await fsp.rename(src, `${file}.1`);
    return true;
  }
}
