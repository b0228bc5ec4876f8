/**
 * Reading container logs. conmon writes the k8s-file format, one line per
 * record: `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`, where P marks a
 * partial line continued by the next record. berth translates on read into
 * what Docker's json-file driver would have returned.
 */
import { promises as fsp, watch } from 'node:fs';

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

function toNanos(iso: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return 0n;
  const secs = BigInt(Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000));
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
  if (o.since && e.nanos < BigInt(Math.floor(o.since * 1e9))) return false;
  if (o.until && e.nanos > BigInt(Math.floor(o.until * 1e9))) return false;
  return true;
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
): Promise<void> {
  let data: Buffer;
  try {
    data = await fsp.readFile(file);
  } catch {
    data = Buffer.alloc(0);
  }
  let offset = wholeLines(data);
  const parsed = parseLog(data.subarray(0, offset));
  let pending = parsed.pending;
  let entries = parsed.entries.filter((e) => wanted(e, o));
  if (o.tail !== undefined && o.tail >= 0) entries = o.tail === 0 ? [] : entries.slice(-o.tail);
  for (const e of entries) emit(e);
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
