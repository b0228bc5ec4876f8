/**
 * --since/--until values as docker/cli converts them before sending
 * (api/types/time.GetTimestamp): a Go duration ("10m", "1h30m") counts back
 * from now, RFC 3339 dates and times (local unless they carry a zone) become
 * "seconds.nanoseconds", and a Unix timestamp passes through unchanged.
 * dockerd reads prune filters' `until` the same way (filters.ts untilMs).
 */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration, in nanoseconds; undefined when `s` is not a duration. */
export function parseGoDuration(s: string): number | undefined {
  const m = /^([+-]?)(.*)$/.exec(s)!;
  let rest = m[2]!;
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest) {
    const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part || (part[1] === '' && (part[2] ?? '') === '')) return undefined;
    const value = Number(`${part[1] || '0'}.${part[2] || '0'}`);
    total += value * UNIT_NS[part[3]!]!;
    rest = rest.slice(part[0].length);
  }
  return m[1] === '-' ? -total : total;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Local-time RFC 3339 without a zone: append the client's offset so Date.parse reads it as local. */
function localOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** Parses the RFC 3339-like forms GetTimestamp accepts into [unix seconds, nanoseconds]. */
function parseTime(value: string): [number, number] | undefined {
  const inLocation = !/[zZ+]/.test(value) && (value.match(/-/g) ?? []).length !== 3;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone] = m;
  if (!inLocation && !zone) return undefined;
  if (inLocation && zone) return undefined;
  const base = `${y}-${mo}-${d}T${h}:${mi}:${sec}`;
  const tz = zone ? (zone === 'z' ? 'Z' : zone) : localOffset(new Date(`${base}Z`));
  const ms = Date.parse(`${base}${tz}`);
  if (Number.isNaN(ms)) return undefined;
  return [Math.floor(ms / 1000), Number(frac.padEnd(9, '0') || 0)];
}

/** GetTimestamp: the value the logs endpoint takes for `since`/`until`. */
export function getTimestamp(value: string, now: Date = new Date()): string {
  const d = parseGoDuration(value);
  if (value !== '0' && d !== undefined) return String(Math.floor((now.getTime() - d / 1e6) / 1000));
  const t = parseTime(value);
  if (t) return `${t[0]}.${pad(t[1], 9)}`;
  if (value.includes('-')) throw new Error(`parsing time ${JSON.stringify(value)}: cannot parse ${JSON.stringify(value)} as RFC 3339`);
  if (!/^\d+(\.\d{1,9})?$/.test(value)) throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return value;
}
