/**
 * @module registry/uploads
 * Blob upload sessions (the spec's POST / PATCH / PUT / GET / DELETE on
 * `/v2/<name>/blobs/uploads/<uuid>`), kept as content-store ingests: the
 * session's bytes are the ingest under ref `registry-upload:<uuid>:<name>`,
 * so they survive a server restart (a later PATCH resumes at the ingest's
 * offset), a finished upload becomes a blob only through the store's verified
 * commit (digest and size checked, then rename), and the bytes of a session
 * nobody finishes are dropped after `uploadExpiryMs`.
 *
 * While the server runs, a session keeps its writer open between requests:
 * reopening would hash the bytes so far again at every chunk. A request that
 * fails mid-body closes the writer (the store keeps what reached the disk),
 * and the next one reopens it at the true offset: the resumable push of the
 * spec.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { Digest } from '../common/reference/digest.js';
import type { Info, Writer } from '../engine/content/content.js';
import type { LocalContentStore } from '../engine/content/store.js';
import { errorKind } from '../engine/errors.js';
import { regError } from './errors.js';

const REF_PREFIX = 'registry-upload:';

export interface Session {
  uuid: string;
  repo: string;
  ref: string;
  startedAt: string;
  touchedMs: number;
  writer?: Writer;
  /** Requests on this session run one at a time (a status GET waits for the chunk in flight). */
  tail: Promise<unknown>;
  /** Requests holding or waiting for the session (expiry leaves it alone meanwhile). */
  active: number;
}

/** Runs `fn` when the session's earlier requests are done. */
function serial<T>(s: Session, fn: () => Promise<T>): Promise<T> {
  s.active++;
  const run = s.tail.then(fn, fn);
  s.tail = run.then(
    () => undefined,
    () => undefined,
  );
  return run.finally(() => {
    s.active--;
  });
}

export interface UploadLimits {
  maxUploads: number;
  /** 0: no limit but the free space. */
  maxBlobSize: number;
  expiryMs: number;
  /** The directory whose filesystem holds the blobs (free-space check). */
  root: string;
}

/** A `Content-Range` of the spec (`<start>-<end>`, inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

/** Keeps this much free on the filesystem whatever uploads declare. */
const RESERVE = 256 * 1024 * 1024;

export class Uploads {
  private readonly sessions = new Map<string, Session>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly cs: LocalContentStore,
    private readonly limits: UploadLimits,
  ) {}

  /** Sessions left by an earlier run of the server come back (their writers open on first use). */
  async init(): Promise<void> {
    for (const st of await this.cs.ingests()) {
      if (!st.ref.startsWith(REF_PREFIX)) continue;
      const rest = st.ref.slice(REF_PREFIX.length);
      const i = rest.indexOf(':');
      const uuid = rest.slice(0, i);
      this.sessions.set(uuid, { uuid, repo: rest.slice(i + 1), ref: st.ref, startedAt: st.startedAt, touchedMs: Date.parse(st.updatedAt), tail: Promise.resolve(), active: 0 });
    }
    if (this.limits.expiryMs > 0) {
      this.timer = setInterval(() => void this.expire().catch(() => undefined), Math.min(this.limits.expiryMs / 4, 600_000));
      this.timer.unref();
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.sessions.values()) void s.writer?.close().catch(() => undefined);
  }

  get count(): number {
    return this.sessions.size;
  }

  /** Opens a session (429 TOOMANYREQUESTS past the limit). */
  async start(repo: string): Promise<Session> {
    if (this.sessions.size >= this.limits.maxUploads) throw regError('TOOMANYREQUESTS', `too many uploads in progress (limit ${this.limits.maxUploads})`);
    const uuid = randomUUID();
    const ref = `${REF_PREFIX}${uuid}:${repo}`;
    const writer = await this.cs.writer(ref);
    const s: Session = { uuid, repo, ref, startedAt: new Date().toISOString(), touchedMs: Date.now(), writer, tail: Promise.resolve(), active: 0 };
    this.sessions.set(uuid, s);
    return s;
  }

  /** The session `uuid` of `repo` (BLOB_UPLOAD_UNKNOWN otherwise). */
  get(repo: string, uuid: string): Session {
    const s = this.sessions.get(uuid);
    if (!s || s.repo !== repo) throw regError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
    return s;
  }

  /** Bytes received so far. */
  offset(s: Session): Promise<number> {
    return serial(s, async () => (await this.writer(s)).offset);
  }

  private async writer(s: Session): Promise<Writer> {
    if (!s.writer) {
      try {
        s.writer = await this.cs.writer(s.ref);
      } catch (err) {
        if (errorKind(err) === 'conflict') throw regError('RANGE_INVALID', 'upload in use by another request');
        throw err;
      }
    }
    return s.writer;
  }

  /**
   * Checks a chunk against the limits before any byte is read: its declared
   * end (`Content-Range`, else the offset plus `Content-Length`) within the
   * biggest blob allowed and the free space.
   */
  async checkSize(offset: number, declaredEnd: number | undefined): Promise<void> {
    if (declaredEnd === undefined) return;
    if (this.limits.maxBlobSize > 0 && declaredEnd > this.limits.maxBlobSize) {
      throw regError('SIZE_INVALID', `blob of ${declaredEnd} bytes exceeds the limit of ${this.limits.maxBlobSize}`, undefined, 413);
    }
    const st = await fsp.statfs(this.limits.root).catch(() => undefined);
    if (st && declaredEnd - offset > st.bavail * st.bsize - RESERVE) {
      throw regError('SIZE_INVALID', `blob of ${declaredEnd} bytes does not fit in the registry's free space`, undefined, 413);
    }
  }

  /**
   * Appends a request body. `range` (PATCH's or PUT's Content-Range) must
   * start where the session is (416 otherwise); `length` is the declared
   * Content-Length. Returns the new offset.
   */
  append(s: Session, body: Readable, range: ChunkRange | undefined, length: number | undefined): Promise<number> {
    return serial(s, async () => {
      const w = await this.writer(s);
      if (range) {
        if (range.start !== w.offset || range.end < range.start - 1) throw regError('RANGE_INVALID', `chunk ${range.start}-${range.end} does not start at ${w.offset}`);
        if (length !== undefined && range.end - range.start + 1 !== length) throw regError('SIZE_INVALID', `Content-Range ${range.start}-${range.end} does not match Content-Length ${length}`);
      }
      const end = range ? range.end + 1 : length !== undefined ? w.offset + length : undefined;
      await this.checkSize(w.offset, end);
      s.touchedMs = Date.now();
      const max = this.limits.maxBlobSize;
      try {
        let input = body;
        if (max > 0) {
          const t = limiter(max - w.offset);
          body.once('error', (e) => t.destroy(e));
          input = body.pipe(t);
        }
        await w.writeStream(input);
      } catch (err) {
        // The writer's count may be ahead of the disk: let go, and reopen at the true offset next time.
        await w.close().catch(() => undefined);
        s.writer = undefined;
        throw err;
      }
      s.touchedMs = Date.now();
      return w.offset;
    });
  }

  /**
   * Closes a session as the blob `digest`: verified by the store's commit.
   * A mismatch drops the session's bytes (they can never be that blob).
   */
  finish(s: Session, digest: Digest): Promise<Info> {
    return serial(s, async () => {
      const w = await this.writer(s);
      try {
        return await w.commit(undefined, digest);
      } catch (err) {
        if (errorKind(err) === 'invalid') throw regError('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest });
        throw err;
      } finally {
        this.sessions.delete(s.uuid);
        s.writer = undefined;
      }
    });
  }

  /** Drops a session and its bytes. */
  async cancel(s: Session): Promise<void> {
    const w = s.writer;
    s.writer = undefined;
    // Bytes first, then the session: a client told the upload is unknown must find its bytes already gone.
    try {
      if (w) await w.abort();
      else await this.cs.abortIngest(s.ref).catch(() => undefined);
    } finally {
      this.sessions.delete(s.uuid);
    }
  }

  /** Drops sessions untouched for longer than the expiry. */
  async expire(now = Date.now()): Promise<number> {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.active > 0 || now - s.touchedMs < this.limits.expiryMs) continue;
      await this.cancel(s).catch(() => undefined);
      n++;
    }
    return n;
  }
}

/** Fails the stream once more than `max` bytes went through (an upload with no declared length). */
function limiter(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(regError('SIZE_INVALID', 'blob exceeds the size limit', undefined, 413));
      else cb(null, chunk);
    },
  });
}

/** Parses the spec's `Content-Range: <start>-<end>` (also `bytes=` / `bytes ` prefixed, as some clients send). */
export function parseContentRange(v: string | undefined): ChunkRange | undefined | 'invalid' {
  if (v === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(v.trim());
  if (!m) return 'invalid';
  return { start: Number(m[1]), end: Number(m[2]) };
}

export function isUploadRef(ref: string): boolean {
  return ref.startsWith(REF_PREFIX);
}
