/**
 * @module fuzz/runner
 * Runs a fuzz target in a worker thread with a watchdog: the worker reports
 * crashes itself; a run that makes no progress for `hangMs` is a hang, and
 * a worker past its heap limit is unbounded memory. Either way the input is
 * read from shared memory and written under fuzz/crashes/ for replay.
 *
 * Why not Jazzer.js: its 4.0.0 Linux addon needs glibc 2.38 (Debian 12 has
 * 2.36), and its older releases fetch their addon from GitHub at install
 * time or build it with LLVM sources, neither reachable here. The targets
 * keep Jazzer.js's `fuzz(data)` shape so they can move to it unchanged.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { randomSeed } from './mutate.js';
import type { WorkerData, WorkerMessage } from './types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository (dist/fuzz/ → ./). */
export const REPO = path.resolve(HERE, '..', '..');
export const TARGETS = ['reference', 'template', 'tar', 'json-body', 'dockerfile'] as const;
export type TargetName = (typeof TARGETS)[number];

const MAX_INPUT = 1 << 20;

export interface FuzzOptions {
  seconds: number;
  runs?: number;
  seed?: number;
  /** Keep inputs that reached new code in the target's corpus. */
  save?: boolean;
  /** A run that takes longer than this is a hang (default 10 s; machines under load are slow). */
  hangMs?: number;
  /** The worker's heap limit; past it is unbounded memory (default 512 MiB). */
  memoryMb?: number;
  /** Another target module and corpus than fuzz/targets/<name>.js and fuzz/corpus/<name>/ (the runner's own tests). */
  module?: string;
  corpus?: string;
}

export interface FuzzResult {
  target: string;
  seed: number;
  execs: number;
  seeds: number;
  corpus: number;
  features: number;
  failure?: { kind: 'crash' | 'hang' | 'memory'; error: string; file: string };
}

export function corpusDir(target: string): string {
  return path.join(REPO, 'fuzz', 'corpus', target);
}

async function keepCrash(target: string, input: Uint8Array): Promise<string> {
  const dir = path.join(REPO, 'fuzz', 'crashes');
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${target}-${createHash('sha1').update(input).digest('hex').slice(0, 16)}`);
  await fsp.writeFile(file, input);
  return file;
}

export async function runFuzz(target: TargetName | string, o: FuzzOptions): Promise<FuzzResult> {
  const seed = o.seed ?? randomSeed();
  const shared = new SharedArrayBuffer(8 + MAX_INPUT);
  const header = new Int32Array(shared, 0, 2);
  const data: WorkerData = {
    targetModule: o.module ?? path.join(HERE, 'targets', `${target}.js`),
    corpusDir: o.corpus ?? corpusDir(target),
    ...(o.save ? { saveDir: o.corpus ?? corpusDir(target) } : {}),
    seconds: o.seconds,
    runs: o.runs ?? 0,
    seed,
    shared,
  };
  const current = () => new Uint8Array(shared, 8, Atomics.load(header, 1)).slice();
  const worker = new Worker(path.join(HERE, 'worker.js'), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: o.memoryMb ?? 512 } });
  const hangMs = o.hangMs ?? 10_000;
  return new Promise<FuzzResult>((resolve) => {
    let settled = false;
    let lastCount = -1;
    let lastChange = Date.now();
    const base = { target, seed, execs: 0, seeds: 0, corpus: 0, features: 0 };
    // The first outcome wins; the input is read at once, before the worker is stopped.
    const finish = (kind: 'crash' | 'hang' | 'memory' | undefined, error: string, input: Uint8Array, done?: FuzzResult) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      const execs = Atomics.load(header, 0);
      void (async () => {
        await worker.terminate();
        if (done) return resolve(done);
        resolve({ ...base, execs, failure: { kind: kind!, error, file: await keepCrash(target, input) } });
      })();
    };
    const watchdog = setInterval(() => {
      const n = Atomics.load(header, 0);
      if (n !== lastCount) {
        lastCount = n;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > hangMs) {
        finish('hang', `no progress for ${hangMs} ms on one input`, current());
      }
    }, 200);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'crash') finish('crash', m.error, m.input);
      else finish(undefined, '', new Uint8Array(), { ...base, execs: m.execs, seeds: m.seeds, corpus: m.corpus, features: m.features });
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const kind = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash';
      finish(kind, err.stack ?? String(err), current());
    });
    worker.on('exit', (code) => {
      finish('crash', `fuzz worker exited with code ${code}`, current());
    });
  });
}
