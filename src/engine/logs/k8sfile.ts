/**
 * Reading container logs. conmon writes the k8s-file format, one line per
 * record: `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`, where P marks a
 * partial line continued by the next record. berth translates on read into
 * what Docker's json-file driver would have returned.
 *
 * A log can be gigabytes: nothing here reads the whole file unless asked for
 * all of it. `tail` reads backwards from the end a window at a time, `since`
 * finds its start by a binary search over the lines' timestamps (conmon
 * writes them in order), a read without `follow` stops after `until`.
 */
import { promises as fsp, watch } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface LogEntry {
  /** Docker's timestamp form: RFC3339 with 9 fraction digits, UTC, `Z`. */
  time: string;
  /** Nanoseconds since the epoch, for since/until comparisons. */
  nanos: bigint;
  stream: 'stdout' | 'stderr';
  /** The message, with its trailing newline when the line was complete. */
  text: Buffer;
}

export interface LogReadOptions {
  stdout: boolean;
  stderr: boolean;
  /** Number of entries from the end; undefined = all. */
  tail?: number;
  /** Seconds since epoch (fractional allowed); 0 = no bound. */
  since?: number;
  until?: number;
  follow: boolean;
}

// Consecutive lines mostly share their second: its parse is kept (Date.parse is most of a line's cost).
let lastSecond = { key: '', secs: 0n };

function toNanos(iso: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return 0n;
  const key = `${m[1]}${m[3]}`;
  if (lastSecond.key !== key) lastSecond = { key, secs: BigInt(Math.floor(Date.parse(key) / 1000)) };
  const secs = lastSecond.secs;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  return secs * 1_000_000_000n + frac;
}

function dockerTime(nanos: bigint): string {
  const secs = Number(nanos / 1_000_000_000n);
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(secs * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

/**
 * Parses complete lines of a k8s-file log into entries, joining partial
 * records. Returns the entries and any trailing partial record to carry over.
 */
export function parseLog(data: Buffer, pending?: LogEntry): { entries: LogEntry[]; pending?: LogEntry } {
  const entries: LogEntry[] = [];
  let carry = pending;
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    if (nl < 0) break;
    const line = data.subarray(start, nl);
    start = nl + 1;
    const s1 = line.indexOf(0x20);
    const s2 = line.indexOf(0x20, s1 + 1);
    const s3 = line.indexOf(0x20, s2 + 1);
    if (s1 < 0 || s2 < 0 || s3 < 0) continue;
    const time = line.subarray(0, s1).toString();
    const stream = line.subarray(s1 + 1, s2).toString() === 'stderr' ? 'stderr' : 'stdout';
    const tag = line.subarray(s2 + 1, s3).toString();
    const text = line.subarray(s3 + 1);
    const nanos = toNanos(time);
    if (carry && carry.stream === stream) {
      carry.text = Buffer.concat([carry.text, text]);
    } else {
      if (carry) entries.push(carry);
      carry = { time: dockerTime(nanos), nanos, stream, text: Buffer.from(text) };
    }
    if (tag.startsWith('F')) {
      carry.text = Buffer.concat([carry.text, Buffer.from('\n')]);
      entries.push(carry);
      carry = undefined;
    }
  }
  return { entries, pending: carry };
}

/** Length of the prefix of `data` made of whole lines. */
function wholeLines(data: Buffer): number {
  const last = data.lastIndexOf(0x0a);
  return last + 1;
}

function wanted(e: LogEntry, o: LogReadOptions): boolean {
  if (e.stream === 'stdout' ? !o.stdout : !o.stderr) return false;
  if (o.since && e.nanos < sinceNanos(o)) return false;
  if (o.until && e.nanos > untilNanos(o)) return false;
  return true;
}

const sinceNanos = (o: LogReadOptions) => BigInt(Math.floor((o.since ?? 0) * 1e9));
const untilNanos = (o: LogReadOptions) => BigInt(Math.floor((o.until ?? 0) * 1e9));

/** How much is read at a time (tests make it small to cross window edges). */
export interface ReadTuning {
  window: number;
}
const DEFAULT_TUNING: ReadTuning = { window: 64 * 1024 };

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The stream field of the line starting at `at` (`stderr` or anything else, read as stdout), and whether its tag is F. */
function lineHead(buf: Buffer, at: number, nl: number): { stderr: boolean; full: boolean } | undefined {
  // The same fields parseLog needs (three spaces on the line), or it skips the line.
  const s1 = buf.indexOf(0x20, at);
  const s2 = s1 < 0 ? -1 : buf.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : buf.indexOf(0x20, s2 + 1);
  if (s1 < 0 || s2 < 0 || s3 < 0 || s3 >= nl) return undefined;
  return { stderr: buf.subarray(s1 + 1, s2).toString() === 'stderr', full: buf[s2 + 1] === 0x46 /* F */ };
}

/**
 * The first offset in `buf` (from `from`) where parseLog starts a new entry
 * whatever came before: a line after an F line or after a line of the other
 * stream. `from` is the start of a whole line. -1 if the window has none
 * before its end.
 */
function firstBoundary(buf: Buffer, from: number): number {
  let at = from;
  let prev: { stderr: boolean; full: boolean } | undefined;
  for (;;) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) return -1;
    const cur = lineHead(buf, at, nl);
    if (prev && cur && (prev.full || prev.stderr !== cur.stderr)) return at;
    // A malformed line is skipped by parseLog without touching the entry being joined: no boundary on either side of it.
    if (cur) prev = cur;
    at = nl + 1;
  }
}

/** The nanoseconds of the first whole, well-formed line starting after `pos` (or at 0), and where it starts; undefined if none starts in the next 4 KiB. */
async function lineTimeAfter(fh: FileHandle, pos: number, end: number): Promise<{ at: number; nanos: bigint } | undefined> {
  const buf = await readAt(fh, pos, Math.min(4096, end - pos));
  let at = pos > 0 ? buf.indexOf(0x0a) + 1 : 0;
  if (pos > 0 && at === 0) return undefined;
  for (;;) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) return undefined;
    const sp = buf.indexOf(0x20, at);
    const nanos = sp >= 0 && sp < nl ? toNanos(buf.subarray(at, sp).toString()) : 0n;
    // A malformed line (no time parseLog would read) says nothing: the next one does.
    if (nanos > 0n) return { at: pos + at, nanos };
    at = nl + 1;
  }
}

/**
 * Where to start parsing for entries at or after `since`: a binary search
 * over line timestamps, down to a line older than since. Parsing may start
 * mid-entry there: the fragment carries that line's time and is dropped
 * as older than since, and the entries after it come out whole.
 */
async function sinceStart(fh: FileHandle, end: number, since: bigint, t: ReadTuning): Promise<number> {
  const first = await lineTimeAfter(fh, 0, end);
  if (!first || first.nanos >= since) return 0;
  let lo = 0; // invariant: the first line at or after lo is older than since
  let hi = end;
  while (hi - lo > t.window) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const l = await lineTimeAfter(fh, mid, end);
    if (!l || l.nanos >= since) hi = mid;
    else lo = l.at;
  }
  return lo;
}

/** Offset just past the last newline before `size`: the log's whole lines end there (a write may be under way after it). */
async function wholeLinesEnd(fh: FileHandle, size: number, t: ReadTuning): Promise<number> {
  let pos = size;
  while (pos > 0) {
    const lo = Math.max(0, pos - t.window);
    const buf = await readAt(fh, lo, pos - lo);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) return lo + nl + 1;
    pos = lo;
  }
  return 0;
}

/**
 * The last `n` wanted entries ending at `end`, read backwards a window at a
 * time. Each window is parsed from its first entry boundary up to where the
 * previous window started (a boundary too), so entries joined from partial
 * records come out exactly as a forward parse makes them. Also returns the
 * partial record at the end, which a follow continues.
 */
async function tailEntries(fh: FileHandle, end: number, n: number, o: LogReadOptions, t: ReadTuning): Promise<{ entries: LogEntry[]; pending?: LogEntry }> {
  let hi = end;
  let span = t.window;
  let collected: LogEntry[] = [];
  let pending: LogEntry | undefined;
  let first = true;
  const since = o.since ? sinceNanos(o) : undefined;
  while (hi > 0 || first) {
    const lo = Math.max(0, hi - span);
    const buf = await readAt(fh, lo, hi - lo);
    let start = 0;
    if (lo > 0) {
      const nl = buf.indexOf(0x0a);
      start = nl < 0 ? -1 : firstBoundary(buf, nl + 1);
      if (start < 0) {
        span *= 2; // no boundary in this window: a longer one
        continue;
      }
    }
    const r = parseLog(buf.subarray(start));
    // Before a boundary made by a change of stream, the other stream's partial record is an entry of its own.
    const entries = !first && r.pending ? [...r.entries, r.pending] : r.entries;
    if (first) pending = r.pending;
    first = false;
    const got = entries.filter((e) => wanted(e, o));
    collected = got.concat(collected);
    if (collected.length > n) collected = n === 0 ? [] : collected.slice(-n);
    hi = lo + start;
    if (collected.length >= n) break;
    // Lines are in time order: once a window starts before since, nothing earlier is wanted.
    if (since !== undefined && entries.length && entries[0]!.nanos < since) break;
  }
  return { entries: collected, pending };
}

/**
 * Emits a container's log entries to `emit`. With `follow`, keeps reading as
 * the log grows until `stopped` resolves (the container exited) and the file
 * has been drained, or until `signal` aborts (the client went away).
 */
export async function readLog(
  file: string,
  o: LogReadOptions,
  emit: (e: LogEntry) => void,
  stopped: Promise<unknown>,
  signal: AbortSignal,
  tuning: ReadTuning = DEFAULT_TUNING,
): Promise<void> {
  let offset = 0;
  let pending: LogEntry | undefined;
  const fh = await fsp.open(file, 'r').catch(() => undefined);
  if (fh) {
    try {
      const end = await wholeLinesEnd(fh, (await fh.stat()).size, tuning);
      if (o.tail !== undefined && o.tail >= 0) {
        const r = await tailEntries(fh, end, o.tail, o, tuning);
        for (const e of r.entries) emit(e);
        pending = r.pending;
        offset = end;
      } else {
        offset = o.since ? await sinceStart(fh, end, sinceNanos(o), tuning) : 0;
        const until = o.until ? untilNanos(o) : undefined;
        const chunk = Math.max(tuning.window, 1 << 20);
        while (offset < end && !signal.aborted) {
          const buf = await readAt(fh, offset, Math.min(chunk, end - offset));
          const n = wholeLines(buf);
          // A single line longer than the chunk: read on until its end.
          if (n === 0) {
            const more = await readAt(fh, offset, end - offset);
            const r = parseLog(more.subarray(0, wholeLines(more)), pending);
            pending = r.pending;
            for (const e of r.entries) if (wanted(e, o)) emit(e);
            offset = end;
            break;
          }
          offset += n;
          const r = parseLog(buf.subarray(0, n), pending);
          pending = r.pending;
          let past = false;
          for (const e of r.entries) {
            if (until !== undefined && e.nanos > until) past = true;
            else if (wanted(e, o)) emit(e);
          }
          // Without follow, nothing after until is wanted and lines are in time order.
          if (past && !o.follow) return;
        }
      }
    } finally {
      await fh.close();
    }
  }
  if (!o.follow || signal.aborted) return;

  let done = false;
  let wake: () => void = () => undefined;
  const watcher = watch(file, () => wake());
  watcher.on('error', () => undefined);
  void stopped.then(() => {
    done = true;
    wake();
  });
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort);
  try {
    for (;;) {
      // Decide before reading: once the container has stopped, this read is the last.
      const last = done;
      const fh = await fsp.open(file, 'r').catch(() => undefined);
      if (fh) {
        try {
          const { size } = await fh.stat();
          if (size > offset) {
            const buf = Buffer.alloc(size - offset);
            await fh.read(buf, 0, buf.length, offset);
            const n = wholeLines(buf);
            offset += n;
            const r = parseLog(buf.subarray(0, n), pending);
            pending = r.pending;
            for (const e of r.entries) if (wanted(e, o)) emit(e);
          }
        } finally {
          await fh.close();
        }
      }
      if (signal.aborted) return;
      if (last) {
        if (pending && wanted(pending, o)) emit(pending);
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        // fs.watch can miss events on some filesystems; poll as a fallback.
        setTimeout(resolve, 1000).unref();
      });
    }
  } finally {
    watcher.close();
    signal.removeEventListener('abort', onAbort);
  }
}
