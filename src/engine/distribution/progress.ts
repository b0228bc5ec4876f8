/**
 * @module engine/distribution/progress
 * The JSON progress messages of a pull or push, as dockerd's
 * pkg/progress + streamformatter write them: `{status, id?, progressDetail?,
 * progress?}` per event, `{aux}` for push's summary. The docker CLI draws one
 * line per `id` (a layer) and redraws it in place on a terminal, so the ids
 * and texts here must be dockerd's exactly.
 */
import { progressText } from '../image/archive/load.js';

export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  aux?: unknown;
}

export type ProgressSink = (m: ProgressMessage) => void;

/** The 12 hex digits dockerd shows for a layer (stringid.TruncateID of a digest). */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * A byte counter that reports `status` for `id` like dockerd's progress
 * reader: at most every 512 KiB or 100 ms apart, and once at the end.
 */
export class ProgressCounter {
  private current: number;
  private lastBytes = -1;
  private lastTime = 0;

  constructor(
    private readonly sink: ProgressSink,
    private readonly id: string,
    private readonly status: string,
    private readonly total: number,
    start = 0,
  ) {
    this.current = start;
  }

  add(n: number): void {
    this.current += n;
    const now = Date.now();
    if (this.current - this.lastBytes >= 512 * 1024 && now - this.lastTime >= 100) this.emit(now);
  }

  /** Reports the count now, whatever it is (the end of a transfer). */
  flush(): void {
    if (this.current !== this.lastBytes) this.emit(Date.now());
  }

  private emit(now: number): void {
    this.lastBytes = this.current;
    this.lastTime = now;
    this.sink({
      status: this.status,
      progressDetail: { current: this.current, total: this.total },
      progress: progressText(this.current, this.total),
      id: this.id,
    });
  }
}

/** progress.Message: a line of its own (`Pulling from …` with the tag as id, `Digest: …`). */
export function message(status: string, id?: string): ProgressMessage {
  return id === undefined ? { status } : { status, id };
}

/** progress.Update: a layer's state (`Pulling fs layer`, `Pull complete`…); dockerd sends an empty progressDetail with it. */
export function update(id: string, status: string): ProgressMessage {
  return { status, progressDetail: {}, id };
}
