/**
 * @module engine/build/output
 * Stage output in stage order while stages build in parallel: the stage
 * being printed writes through as it goes; the others buffer until their
 * turn, so the stream reads as the legacy builder's sequential one.
 */
import type { BuildSink } from './builder.js';
import type { ProgressMessage } from '../distribution/progress.js';

type Item = { stream: string } | { aux: unknown } | { progress: ProgressMessage };

export interface StageWriter {
  stream(text: string): void;
  aux(value: unknown): void;
  /** A pull's progress message (FROM of an image not here), as dockerd's builder passes them on. */
  progress(m: ProgressMessage): void;
}

export class OrderedOutput {
  private pos = 0;
  private readonly buffers = new Map<number, Item[]>();
  private readonly finished = new Set<number>();

  constructor(
    private readonly sink: BuildSink,
    private readonly order: number[],
  ) {
    for (const i of order) this.buffers.set(i, []);
  }

  private active(): number | undefined {
    return this.order[this.pos];
  }

  private emit(item: Item): void {
    if ('stream' in item) this.sink.stream(item.stream);
    else if ('aux' in item) this.sink.aux(item.aux);
    else this.sink.progress(item.progress);
  }

  writer(stage: number): StageWriter {
    const put = (item: Item) => {
      if (this.active() === stage) this.emit(item);
      else this.buffers.get(stage)?.push(item);
    };
    return { stream: (text) => put({ stream: text }), aux: (value) => put({ aux: value }), progress: (m) => put({ progress: m }) };
  }

  /** A stage is done: the next ones in order get their turn (their buffers first). */
  done(stage: number): void {
    this.finished.add(stage);
    while (this.active() !== undefined && this.finished.has(this.active()!)) {
      this.pos++;
      const next = this.active();
      if (next === undefined) break;
      for (const item of this.buffers.get(next)!.splice(0)) this.emit(item);
    }
  }

  /** On failure: whatever is buffered, in order, before the error. */
  flushAll(): void {
    for (let k = this.pos; k < this.order.length; k++) {
      const b = this.buffers.get(this.order[k]!)!;
      for (const item of b.splice(0)) this.emit(item);
    }
    this.pos = this.order.length;
  }
}
