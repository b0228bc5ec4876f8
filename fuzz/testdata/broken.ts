/** @module fuzz/testdata/broken Targets that fail on purpose, so the runner's tests can see it notice (fuzz/runner.test.ts). */
const mode = process.env.BERTH_FUZZ_BROKEN;
const hoard: unknown[] = [];

export function fuzz(data: Buffer): void {
  if (data.length < 2) return;
  if (mode === 'crash') throw new TypeError(`broken target: ${data.length} bytes`);
  if (mode === 'hang') for (;;);
  if (mode === 'memory') for (;;) hoard.push(new Array(1 << 16).fill(data.length));
}
