// Human-readable sizes and durations: a port of github.com/docker/go-units
// (duration.go, size.go, v0.5.0 as vendored by docker/cli v28), so that the
// CREATED, STATUS and SIZE columns and the --memory style flags behave exactly
// like docker's.

import { formatFloat } from './gofmt.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

/** go-units roundDuration: int(float64(d)/float64(unit) + 0.5), i.e. truncation after adding a half. */
function roundDuration(ms: number, unit: number): number {
  return Math.trunc(ms / unit + 0.5);
}

/**
 * go-units HumanDuration for a duration in milliseconds, e.g. "Less than a
 * second", "1 second", "About a minute", "3 hours", "2 weeks".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (!(seconds >= 1)) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = roundDuration(ms, HOUR);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (ms < 2 * WEEK) return `${roundDuration(ms, DAY)} days`;
  if (ms < 2 * MONTH) return `${roundDuration(ms, WEEK)} weeks`;
  if (ms < 2 * YEAR) return `${roundDuration(ms, MONTH)} months`;
  return `${roundDuration(ms, YEAR)} years`;
}

const decimalAbbrs = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const binaryAbbrs = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function getSizeAndUnit(size: number, base: number, map: string[]): [number, string] {
  let i = 0;
  const unitsLimit = map.length - 1;
  while (size >= base && i < unitsLimit) {
    size = size / base;
    i++;
  }
  return [size, map[i]];
}

/** go-units HumanSizeWithPrecision: decimal units formatted with Go's "%.*g%s". */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  const [size, unit] = getSizeAndUnit(bytes, 1000, decimalAbbrs);
  return formatFloat(size, 'g', precision) + unit;
}

/** go-units HumanSize: four significant digits, e.g. "2.746MB", "796kB". */
export function humanSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 4);
}

/**
 * The size docker images / docker ps --size / docker stats (I/O) print:
 * units.HumanSizeWithPrecision(size, 3), e.g. "4.26MB", "976kB", "0B".
 */
export function imageSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 3);
}

/** go-units BytesSize: binary units with "%.4g%s", e.g. "1.5MiB" (docker stats memory). */
export function bytesSize(bytes: number): string {
  const [size, unit] = getSizeAndUnit(bytes, 1024, binaryAbbrs);
  return formatFloat(size, 'g', 4) + unit;
}

const KB = 1000;
const KiB = 1024;
const decimalMap: Record<string, number> = { k: KB, m: KB ** 2, g: KB ** 3, t: KB ** 4, p: KB ** 5 };
const binaryMap: Record<string, number> = { k: KiB, m: KiB ** 2, g: KiB ** 3, t: KiB ** 4, p: KiB ** 5 };
// Same expression as go-units' sizeRegex; \d is ASCII-only in both RE2 and JS.
const sizeRegex = /^(\d+(\.\d+)*) ?([kmgtp])?i?b?$/i;

function parseSize(sizeStr: string, uMap: Record<string, number>): number {
  const m = sizeRegex.exec(sizeStr);
  if (!m) throw new Error(`invalid size: '${sizeStr}'`);
  // "(\.\d+)*" lets "1.2.3" through the regexp; Go's ParseFloat then rejects it
  if (!/^\d+(\.\d+)?$/.test(m[1])) {
    throw new Error(`strconv.ParseFloat: parsing "${m[1]}": invalid syntax`);
  }
  let size = Number(m[1]);
  const mul = m[3] ? uMap[m[3].toLowerCase()] : undefined;
  if (mul !== undefined) size *= mul;
  return Math.trunc(size);
}

/**
 * go-units RAMInBytes: "512m", "1g", "100k", "32Kib" (binary units, case
 * insensitive, optional b). Throws "invalid size: 'x'" for bad input.
 */
export function parseBytes(s: string): number {
  return parseSize(s, binaryMap);
}

/** go-units FromHumanSize: like parseBytes but with SI units ("32kB" = 32000). */
export function fromHumanSize(s: string): number {
  return parseSize(s, decimalMap);
}
