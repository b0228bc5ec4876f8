/**
 * @module engine/filters
 * Filter matching shared by every list and prune: containers, images,
 * volumes and networks all match `label` the same way (moby's
 * filters.Args.MatchKVList), so it lives here once.
 */

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
