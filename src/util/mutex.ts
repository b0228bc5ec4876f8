/** A promise-chain mutex: `run` executes callbacks one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined).finally(() => this.pending--);
    return result;
  }

  /** Whether a callback runs or waits (the store check takes such a container for work in progress). */
  get busy(): boolean {
    return this.pending > 0;
  }
}
