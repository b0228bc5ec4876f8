/**
 * Crash injection for the crash-safety test (test/crash.test.ts); inert
 * unless BERTH_CRASH_CONTROL names a file in the daemon's environment.
 *
 * Named sites (crashPoint) sit where a store makes something durable: a
 * temp file renamed into place, a blob installed, a snapshot committed or
 * trashed, a record written or removed, a container's process started.
 * On SIGUSR2 the daemon reads a number n from the control file and arms:
 * from then on every site it passes is counted (and logged, with its name,
 * to `<control>.trace`), and at the n-th the process SIGKILLs itself. n = 0
 * only counts: how a test learns how many sites an operation passes, so a
 * seeded random n lands inside it. A daemon's own start-up never counts.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

interface CrashState {
  at: number;
  trace: string;
  passes: number;
}

let state: CrashState | undefined;

const control = process.env.BERTH_CRASH_CONTROL;
if (control) {
  process.on('SIGUSR2', () => {
    const at = Number(readFileSync(control, 'utf8').trim()) || 0;
    state = { at, trace: `${control}.trace`, passes: 0 };
    writeFileSync(state.trace, `armed ${at}\n`);
  });
}

/** A point where a crash must leave every store consistent: counted, and fatal at the chosen pass. */
export function crashPoint(site: string): void {
  if (!state) return;
  state.passes++;
  appendFileSync(state.trace, `${state.passes} ${site}\n`);
  if (state.passes === state.at) process.kill(process.pid, 'SIGKILL');
}
