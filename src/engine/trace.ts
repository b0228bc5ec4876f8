/**
 * @module engine/trace
 * Where a request's time goes. With tracing on (berthd --debug), each API
 * request and each container exit is a trace; code on their path marks its
 * phases with span() (image resolve, snapshot prepare, mount, spec, CNI,
 * conmon/runc create, start, exit detection, cleanup …) and, when the trace
 * ends, one line goes to the log:
 *
 *   trace POST /containers/create 14.2ms: api-parse=0.3 image=0.4 snapshot-prepare=9.8 record=1.1 other=2.6
 *
 * Phases hold their own time: a span inside another counts for itself, not
 * for its parent too; `other` is what no span covered (routing, JSON,
 * waiting for a lock). Spans that run side by side (a Promise.all of
 * cleanups) each count their whole time, and their parent loses only the
 * time any of them covered, so phases can add up to more than the total. Spans find their trace through AsyncLocalStorage, so
 * nothing is passed down; with tracing off span() is the bare call and the
 * storage is never entered.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

interface Frame {
  trace: Trace;
  /** When spans directly inside this one ran ([start, end] in ms); they may overlap. */
  children: [number, number][];
}

/** How long any of `spans` was running: their union, not their sum (siblings may run in parallel). */
function covered(spans: [number, number][]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

interface Trace {
  name: string;
  start: number;
  phases: Map<string, number>;
}

const storage = new AsyncLocalStorage<Frame>();
let sink: ((line: string) => void) | undefined;

/** Turns tracing on: each finished trace is written as one line to `write`. */
export function enableTracing(write: (line: string) => void): void {
  sink = write;
}

export function tracingEnabled(): boolean {
  return sink !== undefined;
}

function record(frame: Frame | undefined, phase: string, t0: number, t1: number, selfMs: number): void {
  if (!frame) return;
  frame.children.push([t0, t1]);
  frame.trace.phases.set(phase, (frame.trace.phases.get(phase) ?? 0) + selfMs);
}

/** Runs `fn` as the trace `name` (a request, an exit); logs its phases when it settles. */
export async function traced<T>(name: string, fn: () => Promise<T>, phases?: Record<string, number>): Promise<T> {
  if (!sink) return fn();
  const trace: Trace = { name, start: performance.now(), phases: new Map(Object.entries(phases ?? {})) };
  const frame: Frame = { trace, children: [] };
  try {
    return await storage.run(frame, fn);
  } finally {
    const total = performance.now() - trace.start + [...Object.values(phases ?? {})].reduce((a, b) => a + b, 0);
    const spent = [...trace.phases.values()].reduce((a, b) => a + b, 0);
    const parts = [...trace.phases].map(([k, v]) => `${k}=${v.toFixed(1)}`);
    parts.push(`other=${Math.max(0, total - spent).toFixed(1)}`);
    sink?.(`trace ${name} ${total.toFixed(1)}ms: ${parts.join(' ')}`);
  }
}

/** Runs `fn` as the phase `phase` of the current trace (if any). */
export async function span<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  const parent = sink ? storage.getStore() : undefined;
  if (!parent) return fn();
  const frame: Frame = { trace: parent.trace, children: [] };
  const t0 = performance.now();
  try {
    return await storage.run(frame, fn);
  } finally {
    const t1 = performance.now();
    record(parent, phase, t0, t1, t1 - t0 - covered(frame.children));
  }
}

/** Adds `ms` measured elsewhere (e.g. from a file's mtime) to the current trace as `phase`. */
export function addPhase(phase: string, ms: number): void {
  const frame = sink ? storage.getStore() : undefined;
  if (frame) frame.trace.phases.set(phase, (frame.trace.phases.get(phase) ?? 0) + ms);
}

/** Parses a trace line back into its name, total and phases (for benchmarks and tests). */
export function parseTraceLine(line: string): { name: string; totalMs: number; phases: Record<string, number> } | undefined {
  // A line of the log (logfmt: the message quoted) or the bare message.
  const m = /trace (.+?) ([\d.]+)ms: ([^"]*)/.exec(line);
  if (!m) return undefined;
  const phases: Record<string, number> = {};
  for (const p of m[3]!.trim().split(/\s+/)) {
    const [k, v] = p.split('=');
    if (k && v !== undefined) phases[k] = Number(v);
  }
  return { name: m[1]!, totalMs: Number(m[2]), phases };
}

/** span() for synchronous work (an in-memory lookup). */
export function spanSync<T>(phase: string, fn: () => T): T {
  const parent = sink ? storage.getStore() : undefined;
  if (!parent) return fn();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const t1 = performance.now();
    record(parent, phase, t0, t1, t1 - t0);
  }
}
