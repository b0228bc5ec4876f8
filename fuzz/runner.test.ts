/** The fuzz runner notices each kind of failure and keeps the input that caused it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFuzz } from './runner.js';

const broken = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'broken.js');

for (const kind of ['crash', 'hang', 'memory'] as const) {
  test(`a target that ${kind === 'crash' ? 'throws' : kind === 'hang' ? 'loops forever' : 'grows without bound'} is reported as a ${kind}, with its input kept`, { timeout: 120_000 }, async () => {
    process.env.BERTH_FUZZ_BROKEN = kind;
    try {
      const r = await runFuzz('broken', { seconds: 30, seed: 7, module: broken, corpus: '/nonexistent', hangMs: 1500, memoryMb: 64 });
      assert.equal(r.failure?.kind, kind, JSON.stringify(r));
      const input = await fsp.readFile(r.failure.file);
      assert.ok(input.length >= 2, 'the input that failed, not an earlier one');
      await fsp.rm(r.failure.file);
    } finally {
      delete process.env.BERTH_FUZZ_BROKEN;
    }
  });
}
