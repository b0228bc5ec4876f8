/** @module fuzz/types The shapes shared by the fuzz runner, its worker and the targets. */

/**
 * A fuzz target, in Jazzer.js's shape: `fuzz` takes the input and throws
 * only for a bug. Errors the code under test is meant to raise for bad
 * input (a 400's EngineError, InvalidReferenceError, TemplateError…) are
 * caught inside the target.
 */
export interface FuzzTarget {
  fuzz(data: Buffer): void | Promise<void>;
  /** Tokens the mutator inserts (keywords, delimiters). */
  dictionary?: string[];
  /** The longest input to try (default 4 KiB). */
  maxLen?: number;
}

export interface WorkerData {
  targetModule: string;
  corpusDir: string;
  /** Where to write inputs that reached new code (`npm run fuzz -- --save`). */
  saveDir?: string;
  seconds: number;
  /** Stop after this many runs (0: only the time bound). */
  runs: number;
  seed: number;
  /** [0]: runs started, [1]: the current input's length; the input from byte 8. */
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'crash'; input: Buffer | Uint8Array; error: string }
  | { type: 'done'; execs: number; seeds: number; corpus: number; features: number };
