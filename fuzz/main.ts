/**
 * @module fuzz/main
 * `npm run fuzz [-- [target…] [--seconds N] [--runs N] [--seed N] [--save]]`:
 * fuzzes each target (all by default) for a bounded time, prints what it
 * found, and exits 1 on a crash, hang or runaway memory, naming the file
 * under fuzz/crashes/ that replays it (it is run first the next time when
 * copied into the target's corpus).
 */
import { runFuzz, TARGETS, type TargetName } from './runner.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const seconds = Number(flag('--seconds') ?? 60);
  const runs = Number(flag('--runs') ?? 0);
  const seedArg = flag('--seed');
  const save = args.includes('--save');
  const names = args.filter((a) => !a.startsWith('--'));
  for (const n of names) if (!(TARGETS as readonly string[]).includes(n)) throw new Error(`unknown fuzz target ${n}; targets: ${TARGETS.join(', ')}`);
  let failed = false;
  for (const target of (names.length ? names : TARGETS) as TargetName[]) {
    const r = await runFuzz(target, { seconds, runs, save, ...(seedArg ? { seed: Number(seedArg) } : {}) });
    if (r.failure) {
      failed = true;
      console.log(`${target}: ${r.failure.kind} after ${r.execs} runs (seed ${r.seed}); input: ${r.failure.file}\n${r.failure.error}`);
    } else {
      console.log(`${target}: ${r.execs} runs, ${r.seeds} seeds, corpus ${r.corpus}, ${r.features} functions and blocks reached (seed ${r.seed})`);
    }
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(2);
});
