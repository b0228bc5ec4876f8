// Docker --ulimit → OCI process.rlimits, clamped to the daemon's own hard
// limits. runc applies rlimits with setrlimit/prlimit from a process that
// inherited ours; raising a hard limit needs CAP_SYS_RESOURCE, which no
// process on this kind of host has, so an unclamped request (say
// nofile=1048576 when our hard limit is 20000) makes the container fail to
// start. Clamping trades that failure for a silently lower limit.
import { readFile } from 'node:fs/promises';
import { SpecError } from './errors.js';
import type { POSIXRlimit, RlimitValue } from './types.js';

/** RLIM_INFINITY as the kernel and runc see it: 2^64-1 (not a safe JS number). */
export const RLIM_INFINITY = 0xffffffffffffffffn;

/** docker ulimit names (go-units ulimitNameMapping; "as" is disabled there, so here too). */
const ULIMIT_NAMES = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
]);

/** /proc/<pid>/limits row titles → RLIMIT_* names. */
const PROC_LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

export interface HostLimit {
  soft: bigint;
  hard: bigint;
}

/** Parse /proc/<pid>/limits text ("unlimited" → RLIM_INFINITY). */
export function parseProcLimits(text: string): Map<string, HostLimit> {
  const out = new Map<string, HostLimit>();
  for (const line of text.split('\n')) {
    // Columns are space-aligned; the title itself contains single spaces.
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = PROC_LIMIT_NAMES[m[1]];
    if (!name) continue;
    const value = (s: string): bigint => (s === 'unlimited' ? RLIM_INFINITY : BigInt(s));
    out.set(name, { soft: value(m[2]), hard: value(m[3]) });
  }
  return out;
}

/**
 * The daemon's current limits. Not cached: they are cheap to read and the
 * daemon may change its own (e.g. raise its soft nofile at startup).
 */
export async function readHostRlimits(): Promise<Map<string, HostLimit>> {
  return parseProcLimits(await readFile('/proc/self/limits', 'utf8'));
}

/** A docker ulimit value (int64; negative means unlimited, as uint64(-1)) as a uint64. */
function toU64(n: number): bigint {
  if (!Number.isInteger(n)) throw new SpecError('invalid', `invalid ulimit value: ${n}`);
  return n < 0 ? RLIM_INFINITY : BigInt(n);
}

function toValue(n: bigint): RlimitValue {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * Validate docker ulimits and convert them, clamping hard to the host hard
 * limit and soft to the resulting hard. A later entry for the same name
 * replaces an earlier one (the CLI's map semantics).
 */
export function buildRlimits(
  ulimits: readonly { Name: string; Soft: number; Hard: number }[],
  host: ReadonlyMap<string, HostLimit>,
): POSIXRlimit[] {
  const byType = new Map<string, POSIXRlimit>();
  for (const ul of ulimits) {
    const name = ul.Name.toLowerCase();
    if (!ULIMIT_NAMES.has(name)) throw new SpecError('invalid', `invalid ulimit type: ${ul.Name}`);
    let soft = toU64(ul.Soft);
    let hard = toU64(ul.Hard);
    if (soft > hard) {
      throw new SpecError('invalid', `ulimit soft limit must be less than or equal to hard limit: ${ul.Soft} > ${ul.Hard}`);
    }
    const type = 'RLIMIT_' + name.toUpperCase();
    const ceiling = host.get(type)?.hard;
    if (ceiling !== undefined) {
      hard = min(hard, ceiling);
      soft = min(soft, hard);
    }
    byType.delete(type);
    byType.set(type, { type, soft: toValue(soft), hard: toValue(hard) });
  }
  return [...byType.values()];
}
