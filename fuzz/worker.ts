/**
 * @module fuzz/worker
 * One fuzzing session in a worker thread: imports the target under V8
 * coverage, replays its corpus, then mutates inputs until the time or run
 * budget is spent, keeping those that reach new code. Before each run the
 * input is copied into shared memory, so the parent can name the input
 * that hung or ran out of memory after it stops this thread.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { Coverage } from './coverage.js';
import { mutate, Rng } from './mutate.js';
import type { FuzzTarget, WorkerData, WorkerMessage } from './types.js';

const data = workerData as WorkerData;
const header = new Int32Array(data.shared, 0, 2);
const inputBytes = new Uint8Array(data.shared, 8);

function post(m: WorkerMessage): void {
  parentPort!.postMessage(m);
}

async function readCorpus(dir: string): Promise<Buffer[]> {
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).sort();
  return Promise.all(names.map((n) => fsp.readFile(path.join(dir, n))));
}

async function main(): Promise<void> {
  const distSrc = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
  const coverage = new Coverage((url) => url.startsWith(pathToFileURL(distSrc).href));
  await coverage.start();
  const target = (await import(pathToFileURL(data.targetModule).href)) as FuzzTarget;
  const maxLen = Math.min(target.maxLen ?? 4096, inputBytes.length);
  const dictionary = (target.dictionary ?? []).map((t) => Buffer.from(t));
  const corpus = await readCorpus(data.corpusDir);
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  const rng = new Rng(data.seed);
  let execs = 0;

  const runOne = async (input: Buffer): Promise<boolean> => {
    const n = Math.min(input.length, inputBytes.length);
    inputBytes.set(input.subarray(0, n));
    Atomics.store(header, 1, n);
    Atomics.add(header, 0, 1);
    execs++;
    try {
      await target.fuzz(input);
    } catch (err) {
      post({ type: 'crash', input, error: (err as Error)?.stack ?? String(err) });
      return false;
    }
    return true;
  };

  // The corpus first: every input once, so a fixed crash that comes back is found at once.
  for (const input of corpus) {
    if (!(await runOne(input))) return;
    await coverage.takeNew();
  }
  const seeds = corpus.length;
  const deadline = Date.now() + data.seconds * 1000;
  while (Date.now() < deadline && (data.runs === 0 || execs < data.runs)) {
    const input = mutate(rng.pick(corpus), { rng, other: () => rng.pick(corpus), dictionary, maxLen });
    if (!(await runOne(input))) return;
    if (await coverage.takeNew()) {
      corpus.push(input);
      if (data.saveDir) {
        await fsp.mkdir(data.saveDir, { recursive: true });
        await fsp.writeFile(path.join(data.saveDir, createHash('sha1').update(input).digest('hex')), input);
      }
    }
  }
  await coverage.stop();
  post({ type: 'done', execs, seeds, corpus: corpus.length, features: coverage.features });
}

main().catch((err: unknown) => post({ type: 'crash', input: Buffer.alloc(0), error: `fuzz worker: ${(err as Error)?.stack ?? String(err)}` }));
