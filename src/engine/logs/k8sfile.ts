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
 *
 * A rotated log (./rotate.ts) is read across its files, oldest first; a
 * compressed one is unpacked in memory (it is at most max-size). A follow
 * moves on to the new file when the one it reads is rotated away.
 */
import { promises as fsp, watch } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { logSegments } from './rotate.js';

export interface LogEntry {
  /** Docker's timestamp form: RFC3339 with 9 fraction digits, UTC, `Z`. */
  time: string;
  /**
   * The time as whole seconds since the epoch and nanoseconds within the
   * second, for since/until comparisons: two numbers rather than one BigInt,
   * which cost a large part of reading a long log.
   */
  secs: number;
  frac: number;
  stream: 'stdout' | 'stderr';
  /** The message, with its trailing newline when the line was complete. */
  text: Buffer;
}

/** A point in time as LogEntry keeps it. */
export interface LogTime {
  secs: number;
  frac: number;
}

/** a < b: -1, a = b: 0, a > b: 1. */
export function compareTime(a: LogTime, b: LogTime): number {
  if (a.secs !== b.secs) return a.secs < b.secs ? -1 : 1;
  return a.frac === b.frac ? 0 : a.frac < b.frac ? -1 : 1;
}

/** Fractional seconds since the epoch (a since/until option) as a LogTime, truncated to the nanosecond as Docker does. */
export function logTime(seconds: number): LogTime {
  const n = BigInt(Math.floor(seconds * 1e9));
  return { secs: Number(n / 1_000_000_000n), frac: Number(n % 1_000_000_000n) };
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
let lastSecond = { key: '', secs: 0 };

function secondOf(key: string): number {
  if (lastSecond.key !== key) lastSecond = { key, secs: Math.floor(Date.parse(key) / 1000) };
  return lastSecond.secs;
}

const ZERO_TIME = { secs: 0, frac: 0, time: '1970-01-01T00:00:00.000000000Z' };

/**
 * The timestamp at data[start, end): seconds, nanoseconds and Docker's
 * form. conmon writes `…T15:04:05.123456789+00:00` on a UTC host (and a
 * `Z` form is accepted too): those are read from the bytes without a
 * regular expression, the common case of a long log. Anything else goes
 * through parseTime().
 */
function stampAt(data: Buffer, start: number, end: number): { secs: number; frac: number; time: string } {
  const len = end - start;
  const utcOffset = len === 35 && data[start + 29] === 0x2b /* + */ && data[start + 30] === 0x30 && data[start + 31] === 0x30 && data[start + 33] === 0x30 && data[start + 34] === 0x30;
  if ((len === 30 && data[start + 29] === 0x5a) /* Z */ || utcOffset) {
    if (data[start + 19] === 0x2e /* . */ && data[start + 10] === 0x54 /* T */) {
      let frac = 0;
      for (let i = start + 20; i < start + 29; i++) {
        const d = data[i]! - 0x30;
        if (d < 0 || d > 9) return parseTime(data.toString('latin1', start, end));
        frac = frac * 10 + d;
      }
      const secs = secondOf(`${data.toString('latin1', start, start + 19)}Z`);
      if (Number.isNaN(secs)) return ZERO_TIME;
      return { secs, frac, time: utcOffset ? `${data.toString('latin1', start, start + 29)}Z` : data.toString('latin1', start, end) };
    }
  }
  return parseTime(data.toString('latin1', start, end));
}

/** Any RFC3339 timestamp (fewer fraction digits, another zone) as stampAt() returns it; the zero time when it is not one. */
function parseTime(iso: string): { secs: number; frac: number; time: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return ZERO_TIME;
  const secs = secondOf(`${m[1]}${m[3]}`);
  if (Number.isNaN(secs)) return ZERO_TIME;
  const frac9 = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const frac = Number(frac9);
  const utc = m[3] === 'Z' || m[3] === '+00:00' || m[3] === '-00:00';
  return { secs, frac, time: utc ? `${m[1]}.${frac9}Z` : dockerTime(secs, frac) };
}

// The other direction: one toISOString per second, not per entry.
let lastIso = { secs: -1, text: '' };

function dockerTime(secs: number, frac: number): string {
  if (lastIso.secs !== secs) lastIso = { secs, text: new Date(secs * 1000).toISOString().slice(0, 19) };
  return `${lastIso.text}.${String(frac).padStart(9, '0')}Z`;
}

/**
 * Parses complete lines of a k8s-file log into entries, joining partial
 * records. Returns the entries and any trailing partial record to carry over.
 */
export function parseLog(data: Buffer, pending?: LogEntry): { entries: LogEntry[]; pending?: LogEntry } {
  const entries: LogEntry[] = [];
  let carry = pending;
  let start = 0;
  // Offsets into data rather than a subarray per line: this loop runs once per line of a 1 GB log.
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    if (nl < 0) break;
    const at = start;
    start = nl + 1;
    const s1 = data.indexOf(0x20, at);
    const s2 = s1 < 0 || s1 > nl ? -1 : data.indexOf(0x20, s1 + 1);
    const s3 = s2 < 0 || s2 > nl ? -1 : data.indexOf(0x20, s2 + 1);
    if (s3 < 0 || s3 > nl) continue;
    // Byte checks (the fields are ASCII).
    const stream = s2 - s1 === 7 && data[s1 + 4] === 0x65 /* std"e"rr */ ? 'stderr' : 'stdout';
    const full = data[s2 + 1] === 0x46; /* F */
    if (carry && carry.stream === stream) {
      carry.text = Buffer.concat([carry.text, data.subarray(s3 + 1, full ? nl + 1 : nl)]);
    } else {
      if (carry) entries.push(carry);
      // A whole line's text is a view of data with its newline, which is the one Docker's entry ends with: no copy.
      const text = data.subarray(s3 + 1, full ? nl + 1 : nl);
      const { secs, frac, time } = stampAt(data, at, s1);
      carry = { time, secs, frac, stream, text };
    }
    if (full) {
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
  if (!o.since && !o.until) return true;
  const b = boundsOf(o);
  if (b.since && compareTime(e, b.since) < 0) return false;
  if (b.until && compareTime(e, b.until) > 0) return false;
  return true;
}

// since/until as LogTimes, made once per read rather than once per entry.
const bounds = new WeakMap<LogReadOptions, { since?: LogTime; until?: LogTime }>();
function boundsOf(o: LogReadOptions): { since?: LogTime; until?: LogTime } {
  let b = bounds.get(o);
  if (!b) {
    b = { since: o.since ? logTime(o.since) : undefined, until: o.until ? logTime(o.until) : undefined };
    bounds.set(o, b);
  }
  return b;
}

/** How much is read at a time (tests make it small to cross window edges). */
export interface ReadTuning {
  window: number;
}
const DEFAULT_TUNING: ReadTuning = { window: 64 * 1024 };

/** One of a log's files, read at offsets: an open file, or a rotated file unpacked in memory. */
interface Source {
  read(buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

function bufferSource(data: Buffer): Source {
  return {
    read: async (buf, off, len, pos) => ({ bytesRead: pos >= data.length ? 0 : data.copy(buf, off, pos, Math.min(data.length, pos + len)) }),
    stat: async () => ({ size: data.length }),
    close: async () => undefined,
  };
}

/** Opens one of the log's files; undefined when it is gone (rotated away meanwhile, or never written). */
async function openSource(file: string): Promise<Source | undefined> {
  if (file.endsWith('.gz')) {
    const data = await fsp.readFile(file).catch(() => undefined);
    return data ? bufferSource(await promisify(gunzip)(data)) : undefined;
  }
  return fsp.open(file, 'r').catch(() => undefined);
}

async function readAt(fh: Source, pos: number, len: number): Promise<Buffer> {
  // Unzeroed: only the bytes read are returned.
  const buf = Buffer.allocUnsafe(len);
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
async function lineTimeAfter(fh: Source, pos: number, end: number): Promise<{ at: number; time: LogTime } | undefined> {
  const buf = await readAt(fh, pos, Math.min(4096, end - pos));
  let at = pos > 0 ? buf.indexOf(0x0a) + 1 : 0;
  if (pos > 0 && at === 0) return undefined;
  for (;;) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) return undefined;
    const sp = buf.indexOf(0x20, at);
    const time = sp >= 0 && sp < nl ? stampAt(buf, at, sp) : ZERO_TIME;
    // A malformed line (no time parseLog would read) says nothing: the next one does.
    if (time.secs > 0 || time.frac > 0) return { at: pos + at, time };
    at = nl + 1;
  }
}

/**
 * Where to start parsing for entries at or after `since`: a binary search
 * over line timestamps, down to a line older than since. Parsing may start
 * mid-entry there: the fragment carries that line's time and is dropped
 * as older than since, and the entries after it come out whole.
 */
async function sinceStart(fh: Source, end: number, since: LogTime, t: ReadTuning): Promise<number> {
  const first = await lineTimeAfter(fh, 0, end);
  if (!first || compareTime(first.time, since) >= 0) return 0;
  let lo = 0; // invariant: the first line at or after lo is older than since
  let hi = end;
  while (hi - lo > t.window) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const l = await lineTimeAfter(fh, mid, end);
    if (!l || compareTime(l.time, since) >= 0) hi = mid;
    else lo = l.at;
  }
  return lo;
}

/** Offset just past the last newline before `size`: the log's whole lines end there (a write may be under way after it). */
async function wholeLinesEnd(fh: Source, size: number, t: ReadTuning): Promise<number> {
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
async function tailEntries(fh: Source, end: number, n: number, o: LogReadOptions, t: ReadTuning): Promise<{ entries: LogEntry[]; pending?: LogEntry }> {
  let hi = end;
  let span = t.window;
  let collected: LogEntry[] = [];
  let pending: LogEntry | undefined;
  let first = true;
  const since = boundsOf(o).since;
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
    if (since && entries.length && compareTime(entries[0]!, since) < 0) break;
  }
  return { entries: collected, pending };
}

/** Reads `src` forward from `start` to `end` (whole lines), emitting wanted entries; says whether an entry past until was seen. */
async function readForward(
  src: Source,
  start: number,
  end: number,
  o: LogReadOptions,
  carry: { pending?: LogEntry },
  emit: (e: LogEntry) => void,
  signal: AbortSignal,
  t: ReadTuning,
): Promise<boolean> {
  const until = boundsOf(o).until;
  const chunk = Math.max(t.window, 1 << 20);
  let offset = start;
  let past = false;
  while (offset < end && !signal.aborted) {
    const buf = await readAt(src, offset, Math.min(chunk, end - offset));
    let n = wholeLines(buf);
    let data = buf;
    // A single line longer than the chunk: read on until its end.
    if (n === 0) {
      data = await readAt(src, offset, end - offset);
      n = wholeLines(data);
      if (n === 0) break;
    }
    offset += n;
    const r = parseLog(data.subarray(0, n), carry.pending);
    carry.pending = r.pending;
    for (const e of r.entries) {
      if (until && compareTime(e, until) > 0) past = true;
      else if (wanted(e, o)) emit(e);
    }
    // Without follow, nothing after until is wanted and lines are in time order.
    if (past && !o.follow) return true;
  }
  return past;
}

/** The last `n` wanted entries over the log's files, newest file first; the partial record at the very end is returned apart. */
async function tailSegments(segments: string[], n: number, o: LogReadOptions, t: ReadTuning): Promise<{ entries: LogEntry[]; pending?: LogEntry; end: number }> {
  let out: LogEntry[] = [];
  let pending: LogEntry | undefined;
  let currentEnd = 0;
  const since = boundsOf(o).since;
  for (let i = segments.length - 1; i >= 0; i--) {
    const src = await openSource(segments[i]!);
    if (!src) continue;
    try {
      const end = await wholeLinesEnd(src, (await src.stat()).size, t);
      const r = await tailEntries(src, end, n - out.length, o, t);
      let entries = r.entries;
      if (i === segments.length - 1) {
        pending = r.pending;
        currentEnd = end;
      } else if (r.pending && wanted(r.pending, o)) {
        // A partial record at a rotated file's end (conmon cut between records): an entry of its own.
        entries = [...entries, r.pending];
      }
      out = entries.concat(out);
      if (out.length >= n) break;
      // Older files hold older lines: once this one starts before since, they are not wanted.
      if (since) {
        const first = await lineTimeAfter(src, 0, end);
        if (first && compareTime(first.time, since) < 0) break;
      }
    } finally {
      await src.close();
    }
  }
  return { entries: n === 0 ? [] : out.slice(-n), pending, end: currentEnd };
}

/**
 * Emits a container's log entries to `emit`, across its rotated files. With
 * `follow`, keeps reading as the log grows until `stopped` resolves (the
 * container exited) and the file has been drained, or until `signal` aborts
 * (the client went away).
 */
export async function readLog(
  file: string,
  o: LogReadOptions,
  emit: (e: LogEntry) => void,
  stopped: Promise<unknown>,
  signal: AbortSignal,
  tuning: ReadTuning = DEFAULT_TUNING,
): Promise<void> {
  const segments = await logSegments(file);
  const carry: { pending?: LogEntry } = {};
  // The file being written, and how far it has been read: a follow goes on from there.
  let current: Source | undefined;
  let offset = 0;
  try {
    if (o.tail !== undefined && o.tail >= 0) {
      const r = await tailSegments(segments, o.tail, o, tuning);
      for (const e of r.entries) emit(e);
      carry.pending = r.pending;
      offset = r.end;
      if (o.follow) current = await openSource(file);
      // The file may have been replaced between the tail and this open: start the new one from its beginning.
      if (current && offset > (await current.stat()).size) offset = 0;
    } else {
      for (let i = 0; i < segments.length; i++) {
        const last = i === segments.length - 1;
        const src = await openSource(segments[i]!);
        if (!src) continue;
        let keep = false;
        try {
          const end = await wholeLinesEnd(src, (await src.stat()).size, tuning);
          const start = o.since ? await sinceStart(src, end, boundsOf(o).since!, tuning) : 0;
          const past = await readForward(src, start, end, o, carry, emit, signal, tuning);
          if (past && !o.follow) return;
          if (last) {
            offset = end;
            keep = o.follow;
            if (keep) current = src;
          } else if (carry.pending && wanted(carry.pending, o)) {
            // As in a tail: a rotated file's trailing partial record stands alone.
            emit(carry.pending);
            carry.pending = undefined;
          }
        } finally {
          if (!keep) await src.close();
        }
      }
    }
    if (!o.follow || signal.aborted) return;
    // follow() owns the open file from here.
    const handed = current;
    current = undefined;
    await follow(file, handed, offset, o, carry, emit, stopped, signal);
  } finally {
    await current?.close();
  }
}

/** The follow: reads what the file being written gains, moving to the new file when it is rotated. */
async function follow(
  file: string,
  opened: Source | undefined,
  from: number,
  o: LogReadOptions,
  carry: { pending?: LogEntry },
  emit: (e: LogEntry) => void,
  stopped: Promise<unknown>,
  signal: AbortSignal,
): Promise<void> {
  let fh = opened as (Source & { stat(): Promise<{ size: number; ino?: number }> }) | undefined;
  let offset = from;
  let done = false;
  let wake: () => void = () => undefined;
  // The directory, not the file: a rotation replaces the file.
  const watcher = watch(path.dirname(file), () => wake());
  watcher.on('error', () => undefined);
  void stopped.then(() => {
    done = true;
    wake();
  });
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort);
  const drain = async () => {
    if (!fh) return;
    const { size } = await fh.stat();
    if (size <= offset) return;
    const buf = await readAt(fh, offset, size - offset);
    const n = wholeLines(buf);
    offset += n;
    const r = parseLog(buf.subarray(0, n), carry.pending);
    carry.pending = r.pending;
    for (const e of r.entries) if (wanted(e, o)) emit(e);
  };
  try {
    for (;;) {
      // Decide before reading: once the container has stopped, this read is the last.
      const last = done;
      if (!fh) {
        fh = await openSource(file);
        offset = 0;
      }
      await drain();
      // Rotated away (conmon made a new file under the name): finish the old file, then read the new one.
      const now = await fsp.stat(file).catch(() => undefined);
      const mine = fh ? ((await fh.stat()) as { ino?: number }).ino : undefined;
      if (fh && now && mine !== undefined && now.ino !== mine) {
        await drain();
        await fh.close();
        fh = await openSource(file);
        offset = 0;
        await drain();
      }
      if (signal.aborted) return;
      if (last) {
        if (carry.pending && wanted(carry.pending, o)) emit(carry.pending);
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
    await fh?.close();
  }
}
