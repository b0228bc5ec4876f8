/**
 * Flag values as docker/cli parses them (its opts package and go-units):
 * repeatable lists, integers, byte sizes, CPU counts, env files, ulimits,
 * labels, extra hosts, capabilities, restart policies, filters. Parsers throw
 * commander's InvalidArgumentError with docker's wording, which the CLI
 * turns into `invalid argument "x" for "--flag" flag: …`.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { InvalidArgumentError } from 'commander';
import { parseBytes } from '../common/units.js';
import type { RestartPolicy, Ulimit } from '../common/api/container.js';

/** Repeatable flag: collects values in order. */
export function collect<T = string>(parse?: (v: string) => T): (v: string, prev: T[] | undefined) => T[] {
  return (v, prev) => [...(prev ?? []), parse ? parse(v) : (v as unknown as T)];
}

/** pflag's IntVar: strconv.ParseInt(s, 0, 64) (so 0x.., 0o.., 0b.. and leading-0 octal too), with Go's error text. */
export function parseIntFlag(v: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9]\d*|0)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const digits = m[2]!;
  let n = BigInt(/^0[0-7]/.test(digits) ? `0o${digits.slice(1)}` : digits);
  if (m[1] === '-') n = -n;
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  }
  return Number(n);
}

/** MemBytes (-m, --shm-size): go-units RAMInBytes. */
export function parseMemBytes(v: string): number {
  try {
    return parseBytes(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** MemSwapBytes (--memory-swap): like MemBytes, but "-1" means unlimited. */
export function parseMemSwapBytes(v: string): number {
  return v === '-1' ? -1 : parseMemBytes(v);
}

/** NanoCPUs (--cpus): a rational number of CPUs, in units of 1e-9 CPU. */
export function parseCpus(v: string): number {
  // big.Rat.SetString accepts decimals (with exponent) and fractions a/b.
  const frac = /^([+-]?\d+)\/(\d+)$/.exec(v);
  let num: bigint;
  let den: bigint;
  if (frac) {
    num = BigInt(frac[1]!);
    den = BigInt(frac[2]!);
    if (den === 0n) throw new InvalidArgumentError(`failed to parse ${v} as a rational number`);
  } else {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(v);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new InvalidArgumentError(`failed to parse ${v} as a rational number`);
    const fraction = m[3] ?? '';
    const exp = Number(m[4] ?? 0) - fraction.length;
    num = BigInt(`${m[1]}${m[2] || '0'}${fraction}` || '0');
    den = 1n;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den = 10n ** BigInt(-exp);
  }
  const nanoNum = num * 1_000_000_000n;
  if (nanoNum % den !== 0n) throw new InvalidArgumentError('value is too precise');
  return Number(nanoNum / den);
}

/** opts.ValidateEnv: "K=V" as is; "K" takes the client's value, or (berth) is dropped when unset. */
export function parseEnv(v: string): string | undefined {
  const eq = v.indexOf('=');
  const key = eq >= 0 ? v.slice(0, eq) : v;
  if (key === '') throw new InvalidArgumentError(`invalid environment variable: ${v}`);
  if (eq >= 0) return v;
  const value = process.env[key];
  return value === undefined ? undefined : `${key}=${value}`;
}

/**
 * kvfile.Parse (--env-file): one KEY=VALUE per line; blank lines and
 * #-comments skipped; leading space trimmed, trailing kept; a bare KEY takes
 * the client's value and is omitted when unset.
 */
export function parseEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(goOpenError(file, err), { cause: err });
  }
  const out: string[] = [];
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    let l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (i === 0) l = l.replace(/^\uFEFF/, '');
    const line = l.replace(/^\s+/u, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line;
    if (key === '') throw new Error(`no variable name on line '${line}'`);
    if (/[ \t]/.test(key)) throw new Error(`variable '${key}' contains whitespaces`);
    if (eq >= 0) {
      out.push(line);
      return;
    }
    const value = process.env[line];
    if (value !== undefined) out.push(`${key}=${value}`);
  });
  return out;
}

/** Go's *PathError text for a failed os.Open, e.g. "open /x: no such file or directory". */
export function goOpenError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
  };
  return `open ${file}: ${(code && reason[code]) || (err as Error)?.message || String(err)}`;
}

/** Labels ("k=v", or "k" for an empty value) to a map; later ones win. */
export function labelsToMap(labels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const eq = l.indexOf('=');
    if (eq >= 0) out[l.slice(0, eq)] = l.slice(eq + 1);
    else out[l] = '';
  }
  return out;
}

export function validateLabel(v: string): string {
  if (v.trim() === '') throw new InvalidArgumentError('invalid label: empty label');
  return v;
}

/** opts.ValidateExtraHost: "host:ip" or "host=ip" (IP in brackets allowed), sent as "host:ip". */
export function parseExtraHost(v: string): string {
  let sep = v.indexOf('=');
  if (sep < 0) sep = v.indexOf(':');
  const host = sep >= 0 ? v.slice(0, sep) : '';
  let ip = sep >= 0 ? v.slice(sep + 1) : '';
  if (sep < 0 || host === '' || host.includes(':')) throw new InvalidArgumentError(`bad format for add-host: ${JSON.stringify(v)}`);
  if (ip !== 'host-gateway') {
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (!net.isIP(ip)) throw new InvalidArgumentError(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
  return `${host}:${ip}`;
}

export type { Ulimit } from '../common/api/container.js';

const ULIMIT_NAMES = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** go-units ParseUlimit: "name=soft[:hard]". */
export function parseUlimit(v: string): Ulimit {
  const eq = v.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`invalid ulimit argument: ${v}`);
  const name = v.slice(0, eq);
  if (!ULIMIT_NAMES.has(name)) throw new InvalidArgumentError(`invalid ulimit type: ${name}`);
  const limits = v.slice(eq + 1).split(':');
  if (limits.length > 2) {
    throw new InvalidArgumentError(`too many limit value arguments - ${v.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  }
  const soft = parseGoInt(limits[0]!);
  const hard = limits.length === 2 ? parseGoInt(limits[1]!) : soft;
  if (hard !== -1 && soft > hard) {
    throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { Name: name, Hard: hard, Soft: soft };
}

/** strconv.ParseInt(s, 10, 64). */
function parseGoInt(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
}

/** UlimitOpt.GetList: one per name (the last wins), sorted by name. */
export function ulimitList(list: Ulimit[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const u of list) byName.set(u.Name, u);
  return [...byName.values()].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** opts.NormalizeCapability: upper case, "CAP_" prefix, except ALL/RESET. */
function normalizeCapability(c: string): string {
  const cap = c.trim().toUpperCase();
  if (cap === 'ALL' || cap === 'RESET') return cap;
  return cap.startsWith('CAP_') ? cap : `CAP_${cap}`;
}

/** opts.EffectiveCapAddCapDrop: normalised, de-duplicated, sorted; adding wins over dropping; ALL trumps. */
export function effectiveCaps(add: string[], drop: string[]): { capAdd: string[] | null; capDrop: string[] | null } {
  let addSet = new Set(add.map(normalizeCapability));
  let dropSet = new Set(drop.map(normalizeCapability));
  if (addSet.has('ALL')) addSet = new Set(['ALL']);
  if (dropSet.has('ALL')) dropSet = new Set(['ALL']);
  const capDrop = [...dropSet].filter((c) => !addSet.has(c) && c !== 'RESET').sort();
  const capAdd = [...addSet].filter((c) => c !== 'RESET').sort();
  // Go's nil slices marshal as null.
  return { capAdd: capAdd.length ? capAdd : null, capDrop: capDrop.length ? capDrop : null };
}

/** opts.ParseRestartPolicy: "name[:max-retries]". */
export function parseRestartPolicy(v: string): RestartPolicy {
  const colon = v.indexOf(':');
  const name = colon >= 0 ? v.slice(0, colon) : v;
  const count = colon >= 0 ? v.slice(colon + 1) : '';
  if (colon >= 0 && name === '') throw new Error('invalid restart policy format: no policy provided before colon');
  let max = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
    max = Number(count);
  }
  return { Name: name, MaximumRetryCount: max };
}

/**
 * parseSecurityOpts: "key=value" or "key:value" ("no-new-privileges" alone
 * is fine); a seccomp profile file is sent as its compacted JSON content.
 */
export function parseSecurityOpts(list: string[]): string[] {
  return list.map((opt) => {
    let sep = opt.indexOf('=');
    let key = sep >= 0 ? opt.slice(0, sep) : opt;
    if (sep < 0 && key !== 'no-new-privileges') {
      sep = opt.indexOf(':');
      key = sep >= 0 ? opt.slice(0, sep) : opt;
    }
    const value = sep >= 0 ? opt.slice(sep + 1) : '';
    if ((sep < 0 || value === '') && key !== 'no-new-privileges') throw new Error(`Invalid --security-opt: ${JSON.stringify(opt)}`);
    if (key !== 'seccomp' || value === 'builtin' || value === 'unconfined') return opt;
    let content: string;
    try {
      content = readFileSync(value, 'utf8');
    } catch (err) {
      throw new Error(`opening seccomp profile (${value}) failed: ${goOpenError(value, err)}`, { cause: err });
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(content))}`;
    } catch (err) {
      throw new Error(`compacting json for seccomp profile (${value}) failed: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** opts.FilterOpt: "name=value" → filters[name] += value (name lower-cased, both trimmed). */
export function parseFilter(v: string, prev: Record<string, string[]> | undefined): Record<string, string[]> {
  const out = { ...(prev ?? {}) };
  if (v === '') return out;
  const eq = v.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError('bad format of filter (expected name=value)');
  const name = v.slice(0, eq).trim().toLowerCase();
  out[name] = [...(out[name] ?? []), v.slice(eq + 1).trim()];
  return out;
}
