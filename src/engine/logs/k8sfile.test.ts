/**
 * @module engine/logs/k8sfile.test
 * readLog's windowed reading (tail backwards, since by binary search, until
 * stopping early) against the plain reading of the whole file: the same
 * entries for random logs with partial records, stream changes, repeated
 * timestamps and malformed lines, with windows small enough that entries
 * cross their edges; and the edges themselves: an empty or missing log,
 * a write under way at the end, tail 0, since/until outside the log.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseLog, readLog, type LogEntry, type LogReadOptions, type ReadTuning } from './k8sfile.js';

let dir: string;
before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-k8sfile-'));
});
after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A deterministic pseudo-random generator (tests must be repeatable). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const BASE = Date.parse('2026-12-04T10:00:00Z') / 1000;

function stamp(sec: number, nanos: number): string {
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
}

/** A k8s-file log of `n` records: times that never go back (some repeat), P runs, both streams, a malformed line now and then. */
function makeLog(seed: number, n: number): { text: string; secs: number[] } {
  const r = rng(seed);
  let sec = BASE;
  let ns = 0;
  const lines: string[] = [];
  const secs: number[] = [];
  for (let i = 0; i < n; i++) {
    if (r() < 0.7) {
      ns += Math.floor(r() * 400_000_000);
      if (ns >= 1e9) {
        sec += Math.floor(ns / 1e9);
        ns %= 1e9;
      }
    }
    const stream = r() < 0.75 ? 'stdout' : 'stderr';
    const tag = r() < 0.3 ? 'P' : 'F';
    const text = 'x'.repeat(Math.floor(r() * 30)) + `#${i}`;
    if (r() < 0.02) lines.push('garbage-without-fields');
    lines.push(`${stamp(sec, ns)} ${stream} ${tag} ${text}`);
    secs.push(sec + ns / 1e9);
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', secs };
}

/** What a reading of the whole file returns: every entry, filtered, then the last `tail`. */
function reference(text: string, o: LogReadOptions, withPending: boolean): LogEntry[] {
  const r = parseLog(Buffer.from(text.slice(0, text.lastIndexOf('\n') + 1)));
  const all = withPending && r.pending ? [...r.entries, r.pending] : r.entries;
  const since = BigInt(Math.floor((o.since ?? 0) * 1e9));
  const until = BigInt(Math.floor((o.until ?? 0) * 1e9));
  const nanos = (e: LogEntry) => BigInt(e.secs) * 1_000_000_000n + BigInt(e.frac);
  let out = all.filter((e) => (e.stream === 'stdout' ? o.stdout : o.stderr) && (!o.since || nanos(e) >= since) && (!o.until || nanos(e) <= until));
  if (o.tail !== undefined) {
    const pend = withPending && r.pending && out.at(-1) === r.pending ? 1 : 0;
    // A follow emits the trailing partial entry after the tail, as the run goes on.
    const body = out.slice(0, out.length - pend);
    out = [...(o.tail === 0 ? [] : body.slice(-o.tail)), ...out.slice(out.length - pend)];
  }
  return out;
}

async function read(file: string, o: LogReadOptions, t?: ReadTuning): Promise<LogEntry[]> {
  const got: LogEntry[] = [];
  await readLog(file, o, (e) => got.push(e), Promise.resolve(), new AbortController().signal, t);
  return got;
}

const show = (es: LogEntry[]) => es.map((e) => `${e.time} ${e.stream} ${JSON.stringify(e.text.toString())}`);

test('windowed reads return what a whole-file read returns: tail, since, until, streams, across window edges', async () => {
  const windows: (ReadTuning | undefined)[] = [{ window: 48 }, { window: 97 }, { window: 1024 }, undefined];
  for (const seed of [1, 2, 3, 7]) {
    const { text, secs } = makeLog(seed, 400);
    const file = path.join(dir, `log-${seed}`);
    // A record being written when the read starts: no newline yet, never emitted.
    await fsp.writeFile(file, `${text}2026-12-04T11:00:00.000000000Z stdout F unfinished`);
    const mid = secs[200]!;
    const cases: LogReadOptions[] = [
      { stdout: true, stderr: true, follow: false },
      { stdout: true, stderr: true, follow: false, tail: 0 },
      { stdout: true, stderr: true, follow: false, tail: 1 },
      { stdout: true, stderr: true, follow: false, tail: 10 },
      { stdout: true, stderr: false, follow: false, tail: 25 },
      { stdout: false, stderr: true, follow: false, tail: 7 },
      { stdout: true, stderr: true, follow: false, tail: 10_000 },
      { stdout: true, stderr: true, follow: false, since: mid },
      { stdout: true, stderr: true, follow: false, since: secs[0]! },
      { stdout: true, stderr: true, follow: false, since: secs.at(-1)! + 0.000_001 },
      { stdout: true, stderr: true, follow: false, since: BASE - 100 },
      { stdout: true, stderr: true, follow: false, since: BASE + 1e6 },
      { stdout: true, stderr: true, follow: false, until: mid },
      { stdout: true, stderr: true, follow: false, until: BASE - 1 },
      { stdout: true, stderr: true, follow: false, since: secs[100]!, until: secs[300]! },
      { stdout: true, stderr: true, follow: false, since: mid, tail: 5 },
      { stdout: true, stderr: true, follow: false, since: mid, tail: 1000 },
      { stdout: false, stderr: true, follow: false, since: mid, until: secs[250]!, tail: 3 },
      // follow on a stopped container: the trailing partial entry comes out at the end.
      { stdout: true, stderr: true, follow: true, tail: 4 },
      { stdout: true, stderr: true, follow: true, tail: 0 },
      { stdout: true, stderr: true, follow: true, since: mid },
    ];
    for (const o of cases) {
      const want = show(reference(text, o, o.follow));
      for (const t of windows) {
        assert.deepEqual(show(await read(file, o, t)), want, `seed ${seed} ${JSON.stringify(o)} window ${t?.window ?? 'default'}`);
      }
    }
  }
});

test('edges: an empty log, a missing one, a log of one partial record, a log that is one long entry', async () => {
  const empty = path.join(dir, 'empty');
  await fsp.writeFile(empty, '');
  for (const o of [
    { stdout: true, stderr: true, follow: false },
    { stdout: true, stderr: true, follow: false, tail: 3 },
    { stdout: true, stderr: true, follow: false, since: BASE },
  ] as LogReadOptions[]) {
    assert.deepEqual(await read(empty, o, { window: 16 }), []);
    assert.deepEqual(await read(path.join(dir, 'nosuch'), o), []);
  }
  const partial = path.join(dir, 'partial');
  await fsp.writeFile(partial, `${stamp(BASE, 5)} stdout P half\n`);
  assert.deepEqual(await read(partial, { stdout: true, stderr: true, follow: false, tail: 1 }), []);
  // Followed to the container's exit, the half line is the last entry (no newline added).
  assert.deepEqual(show(await read(partial, { stdout: true, stderr: true, follow: true, tail: 1 })), [`${stamp(BASE, 5)} stdout "half"`]);

  // One entry made of many P records: no boundary inside any small window; the tail still finds its start.
  const long = path.join(dir, 'long');
  const recs = Array.from({ length: 200 }, (_, i) => `${stamp(BASE + i, 0)} stdout P part${i}`);
  await fsp.writeFile(long, `${stamp(BASE - 1, 0)} stdout F before\n${recs.join('\n')}\n${stamp(BASE + 300, 0)} stdout F end\n`);
  const text = `${Array.from({ length: 200 }, (_, i) => `part${i}`).join('')}end\n`;
  for (const t of [{ window: 40 }, { window: 500 }, undefined]) {
    const got = await read(long, { stdout: true, stderr: true, follow: false, tail: 1 }, t);
    assert.deepEqual(show(got), [`${stamp(BASE, 0)} stdout ${JSON.stringify(text)}`]);
    // since inside the entry: it started before since, so it is not shown (the entry's time is its first record's).
    assert.deepEqual(await read(long, { stdout: true, stderr: true, follow: false, since: BASE + 100 }, t), []);
    assert.equal((await read(long, { stdout: true, stderr: true, follow: false, since: BASE - 1 }, t)).length, 2);
  }
});

test('a rotated log reads as the whole: .N.gz, .N, the hold name conmon\'s cut left, then the file being written', async () => {
  const { gzipSync } = await import('node:zlib');
  for (const seed of [4, 5]) {
    const { text, secs } = makeLog(seed, 300);
    const lines = text.split('\n').slice(0, -1);
    // Cut where conmon may: after an F record (a P record's continuation then stays in its file).
    const cuts = [80, 160, 230].map((at) => {
      let i = at;
      while (!/ F /.test(lines[i - 1] ?? ' F ') || / P /.test(lines[i] ?? '')) i++;
      return i;
    });
    const parts = [lines.slice(0, cuts[0]), lines.slice(cuts[0], cuts[1]), lines.slice(cuts[1], cuts[2]), lines.slice(cuts[2])].map((p) => (p.length ? `${p.join('\n')}\n` : ''));
    const file = path.join(dir, `rot-${seed}`);
    await fsp.writeFile(`${file}.2.gz`, gzipSync(parts[0]!));
    await fsp.writeFile(`${file}.1`, parts[1]!);
    await fsp.writeFile(`${file}.hold`, parts[2]!);
    await fsp.writeFile(file, parts[3]!);
    const mid = secs[150]!;
    for (const o of [
      { stdout: true, stderr: true, follow: false },
      { stdout: true, stderr: true, follow: false, tail: 10 },
      { stdout: true, stderr: true, follow: false, tail: 150 },
      { stdout: true, stderr: true, follow: false, tail: 10_000 },
      { stdout: true, stderr: false, follow: false, tail: 120 },
      { stdout: true, stderr: true, follow: false, since: mid },
      { stdout: true, stderr: true, follow: false, since: mid, tail: 100 },
      { stdout: true, stderr: true, follow: false, until: mid },
      { stdout: true, stderr: true, follow: true, since: secs[10]! },
    ] as LogReadOptions[]) {
      const want = show(reference(text, o, o.follow));
      for (const t of [{ window: 64 }, undefined]) assert.deepEqual(show(await read(file, o, t)), want, `seed ${seed} ${JSON.stringify(o)}`);
    }
    // The hold name of the file being written is the same file: not read twice.
    await fsp.rm(`${file}.hold`);
    await fsp.writeFile(file, parts[2]! + parts[3]!);
    await fsp.link(file, `${file}.hold`);
    assert.deepEqual(show(await read(file, { stdout: true, stderr: true, follow: false })), show(reference(text, { stdout: true, stderr: true, follow: false }, false)));
  }
});

test('timestamps: conmon\'s +00:00 form, the Z form, short fractions and other zones give Docker\'s UTC form and the same instant', () => {
  const cases: [string, string, number, number][] = [
    // conmon on a UTC host
    ['2026-12-04T10:00:01.000000007+00:00', '2026-12-04T10:00:01.000000007Z', BASE + 1, 7],
    ['2026-12-04T10:00:01.123456789Z', '2026-12-04T10:00:01.123456789Z', BASE + 1, 123456789],
    // Go's RFC3339Nano drops trailing zeros
    ['2026-12-04T10:00:02.5Z', '2026-12-04T10:00:02.500000000Z', BASE + 2, 500_000_000],
    ['2026-12-04T10:00:03Z', '2026-12-04T10:00:03.000000000Z', BASE + 3, 0],
    // another zone: the same instant, written in UTC
    ['2026-12-04T12:00:04.000000001+02:00', '2026-12-04T10:00:04.000000001Z', BASE + 4, 1],
    ['2026-12-04T09:30:05.250000000-00:30', '2026-12-04T10:00:05.250000000Z', BASE + 5, 250_000_000],
    // a 35-character stamp that is not +00:00
    ['2026-12-04T11:00:06.000000000+01:00', '2026-12-04T10:00:06.000000000Z', BASE + 6, 0],
  ];
  const text = cases.map(([s], i) => `${s} stdout F line ${i}\n`).join('');
  const { entries } = parseLog(Buffer.from(text));
  assert.equal(entries.length, cases.length);
  cases.forEach(([, time, secs, frac], i) => {
    assert.deepEqual({ time: entries[i]!.time, secs: entries[i]!.secs, frac: entries[i]!.frac, text: entries[i]!.text.toString() }, { time, secs, frac, text: `line ${i}\n` }, cases[i]![0]);
  });
  // Not a time: the line is kept, at the epoch, as before.
  const bad = parseLog(Buffer.from('2026-13-45T99:00:00.000000000+00:00 stdout F x\nnot-a-time stderr F y\n')).entries;
  assert.deepEqual(bad.map((e) => [e.secs, e.frac, e.stream, e.text.toString()]), [[0, 0, 'stdout', 'x\n'], [0, 0, 'stderr', 'y\n']]);
});
