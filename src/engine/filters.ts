/**
 * @module engine/filters
 * Filter matching shared by every list and prune: containers, images,
 * volumes and networks all match `label` the same way (moby's
 * filters.Args.MatchKVList), so it lives here once; so does prune's `until`.
 */
import { getTimestamp } from '../common/timestamp.js';
import { invalid } from './errors.js';

/** One `label` filter value against an object's labels: `key` must be present, `key=value` must be equal. */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf('=');
  if (i < 0) return Object.hasOwn(labels, filter);
  const key = filter.slice(0, i);
  return Object.hasOwn(labels, key) && labels[key] === filter.slice(i + 1);
}

/**
 * The `label` filter: an object matches only when it has every label asked
 * for (AND, as dockerd does); no values match everything.
 */
export function labelsMatch(labels: Record<string, string> | null | undefined, filters: readonly string[] | undefined): boolean {
  if (!filters?.length) return true;
  return filters.every((f) => labelMatches(labels ?? {}, f));
}

/** The `label!` filter: an object matches when it has none of the labels named. */
export function labelsExclude(labels: Record<string, string> | null | undefined, filters: readonly string[] | undefined): boolean {
  if (!filters?.length) return true;
  return !filters.some((f) => labelMatches(labels ?? {}, f));
}

/**
 * A prune filter's `until` as dockerd reads it (timetypes.GetTimestamp
 * against the daemon's clock): a Go duration ("24h", "10m") counts back from
 * now, RFC 3339 dates and times, Unix seconds. Milliseconds since the epoch;
 * undefined when there is no filter. Anything else is dockerd's 400, never
 * "prune everything".
 */
export function untilMs(filters: Record<string, string[]>): number | undefined {
  const until = filters.until;
  if (!until?.length) return undefined;
  if (until.length > 1) throw invalid('filters for until can only be one value');
  try {
    return Number(getTimestamp(until[0]!)) * 1000;
  } catch (err) {
    throw invalid(`invalid filter 'until=${until[0]}': ${(err as Error).message}`, err);
  }
}
