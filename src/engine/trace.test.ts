/**
 * @module engine/trace.test
 * Spans hold their own time (a span inside another counts once), `other`
 * is what no span covered, phases measured elsewhere add to the total, and
 * a line parses back into what was logged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enableTracing, parseTraceLine, span, spanSync, traced } from './trace.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a trace line: own time per phase, other, phases from elsewhere, parsed back', async () => {
  const lines: string[] = [];
  // Outside any trace, spans are the bare call.
  assert.equal(await span('x', async () => 7), 7);
  enableTracing((l) => lines.push(l));
  assert.equal(lines.length, 0);
  const out = await traced('POST /containers/{id}/start', async () => {
    await span('outer', async () => {
      await sleep(30);
      await span('inner', () => sleep(40));
    });
    await span('inner', () => sleep(20));
    spanSync('lookup', () => 1);
    await sleep(25);
    return 'done';
  }, { 'exit-detect': 5 });
  assert.equal(out, 'done');
  assert.equal(lines.length, 1);
  const t = parseTraceLine(`time="x" level=debug msg="${lines[0]}"`)!;
  assert.equal(t.name, 'POST /containers/{id}/start');
  assert.deepEqual(Object.keys(t.phases).sort(), ['exit-detect', 'inner', 'lookup', 'other', 'outer']);
  assert.equal(t.phases['exit-detect'], 5);
  // outer is its own 30 ms, not the 70 ms with inner inside; inner adds up both of its spans.
  assert.ok(t.phases.outer! >= 25 && t.phases.outer! < 60, lines[0]);
  assert.ok(t.phases.inner! >= 55, lines[0]);
  assert.ok(t.phases.other! >= 20, lines[0]);
  const sum = Object.values(t.phases).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - t.totalMs) < 1, lines[0]);
  // A failing trace is logged too.
  await assert.rejects(traced('GET /fail', () => span('boom', () => Promise.reject(new Error('no')))));
  assert.match(lines[1]!, /^trace GET \/fail [\d.]+ms: boom=[\d.]+ other=[\d.]+$/);
});

test('spans side by side: each counts its whole time, their parent keeps its own time, never below zero', async () => {
  const lines: string[] = [];
  enableTracing((l) => lines.push(l));
  await traced('exit', async () => {
    // As finishRun's cleanup: runc delete, unmount and CNI release together.
    await span('cleanup', async () => {
      await sleep(20);
      await Promise.all([span('a', () => sleep(60)), span('b', () => sleep(60)), span('c', () => sleep(40))]);
    });
  });
  const t = parseTraceLine(lines[0]!)!;
  assert.ok(t.phases.a! >= 55 && t.phases.b! >= 55 && t.phases.c! >= 35, lines[0]);
  // The parent loses the 60 ms any child covered, not their 160 ms sum.
  assert.ok(t.phases.cleanup! >= 15 && t.phases.cleanup! < 50, lines[0]);
});
