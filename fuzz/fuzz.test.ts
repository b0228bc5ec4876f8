/**
 * Every fuzz target, briefly: its corpus replayed (so fixed crashes stay
 * fixed), then a few seconds of coverage-guided mutation. A crash, hang or
 * runaway memory fails the test and names the input file that replays it.
 * `npm run fuzz` runs the same targets for longer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, TARGETS } from './runner.js';

// Five targets at 8 s each, plus worker start-up: well under the suite's 90 s budget for fuzzing.
const SECONDS = Number(process.env.BERTH_FUZZ_SECONDS ?? 8);

for (const target of TARGETS) {
  test(`fuzz target ${target}: no crash, hang or runaway memory`, { timeout: SECONDS * 1000 + 120_000 }, async () => {
    const r = await runFuzz(target, { seconds: SECONDS, hangMs: 60_000 });
    assert.equal(r.failure, undefined, r.failure && `${r.failure.kind} (seed ${r.seed}); replay ${r.failure.file}:\n${r.failure.error}`);
    assert.ok(r.execs > r.seeds, `${r.execs} runs`);
    assert.ok(r.features > 0, 'the target reached berth\'s code');
  });
}
