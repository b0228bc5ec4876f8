/**
 * @module fuzz/mutate
 * Byte-level mutations in libFuzzer's manner (its MutationDispatcher): bit
 * flips, interesting bytes and numbers, inserts, erases, copies within an
 * input, crossover with another corpus entry, and a target's dictionary of
 * tokens. A mutation run stacks a few of them.
 */
import { randomInt } from 'node:crypto';

/** A deterministic generator (xorshift32), so a run's seed replays it. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)]!;
  }
}

export function randomSeed(): number {
  return randomInt(1, 2 ** 31);
}

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x22, 0x2f, 0x2e, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x40];
const INTERESTING_NUMBERS = ['0', '-1', '1', '255', '256', '65535', '65536', '2147483647', '4294967296', '9007199254740993', '1e308', '-0', '1.5', '99999999999999999999', '077777777777'];

export interface MutateContext {
  rng: Rng;
  /** Another corpus entry, for crossover. */
  other: () => Buffer;
  dictionary: readonly Buffer[];
  maxLen: number;
}

type Mutation = (b: Buffer, c: MutateContext) => Buffer;

const mutations: Mutation[] = [
  // flip a bit
  (b, { rng }) => {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    out[rng.below(out.length)] ^= 1 << rng.below(8);
    return out;
  },
  // set an interesting or random byte
  (b, { rng }) => {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    out[rng.below(out.length)] = rng.below(2) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
    return out;
  },
  // insert random bytes
  (b, { rng }) => {
    const at = rng.below(b.length + 1);
    const ins = Buffer.alloc(1 + rng.below(8));
    for (let i = 0; i < ins.length; i++) ins[i] = rng.below(2) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
    return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
  },
  // erase a range
  (b, { rng }) => {
    if (b.length < 2) return b;
    const at = rng.below(b.length);
    const n = 1 + rng.below(Math.min(64, b.length - at));
    return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
  },
  // copy a range of the input over or into another place
  (b, { rng }) => {
    if (b.length < 2) return b;
    const from = rng.below(b.length);
    const n = 1 + rng.below(Math.min(128, b.length - from));
    const piece = b.subarray(from, from + n);
    const to = rng.below(b.length + 1);
    if (rng.below(2)) return Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
    const out = Buffer.from(b);
    piece.copy(out, Math.min(to, out.length - 1));
    return out;
  },
  // crossover: a prefix of this input and a suffix of another
  (b, { rng, other }) => {
    const o = other();
    return Buffer.concat([b.subarray(0, rng.below(b.length + 1)), o.subarray(rng.below(o.length + 1))]);
  },
  // insert or overwrite with a dictionary token
  (b, { rng, dictionary }) => {
    if (dictionary.length === 0) return b;
    const tok = rng.pick(dictionary);
    const at = rng.below(b.length + 1);
    if (rng.below(2)) return Buffer.concat([b.subarray(0, at), tok, b.subarray(at)]);
    return Buffer.concat([b.subarray(0, at), tok, b.subarray(Math.min(b.length, at + tok.length))]);
  },
  // replace a run of ASCII digits with an interesting number
  (b, { rng }) => {
    const s = b.toString('latin1');
    const runs = [...s.matchAll(/-?\d+/g)];
    if (runs.length === 0) return b;
    const m = rng.pick(runs);
    return Buffer.from(s.slice(0, m.index) + rng.pick(INTERESTING_NUMBERS) + s.slice(m.index! + m[0].length), 'latin1');
  },
  // repeat a range many times (long names, deep nesting)
  (b, { rng }) => {
    if (b.length === 0) return b;
    const from = rng.below(b.length);
    const n = 1 + rng.below(Math.min(8, b.length - from));
    const piece = b.subarray(from, from + n);
    return Buffer.concat([b.subarray(0, from), Buffer.alloc(piece.length * (2 + rng.below(300)), piece), b.subarray(from)]);
  },
  // truncate
  (b, { rng }) => b.subarray(0, rng.below(b.length + 1)),
];

/** One to eight stacked mutations of `b`, cut to the target's maximum length. */
export function mutate(b: Buffer, c: MutateContext): Buffer {
  let out = b;
  const n = 1 + c.rng.below(8);
  for (let i = 0; i < n; i++) out = c.rng.pick(mutations)(out, c);
  return out.length > c.maxLen ? out.subarray(0, c.maxLen) : out;
}
