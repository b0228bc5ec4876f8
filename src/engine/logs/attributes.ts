/**
 * @module engine/logs/attributes
 * The extra attributes log options select (`labels`, `labels-regex`, `env`,
 * `env-regex`) that `docker logs --details` puts before each line (the
 * options themselves are checked in ./driver.ts).
 * dockerd computes the attributes once, when the container's logger is made,
 * from the container's labels and environment; berth computes the same map
 * when the log is read, since conmon's log has no room for them.
 */

/** A regexp from a log option; one that does not compile selects nothing. */
function compile(re: string | undefined): RegExp | null {
  if (!re) return null;
  try {
    return new RegExp(re);
  } catch {
    return null;
  }
}

/** dockerd's logger.Info.ExtraAttributes. */
export function extraAttributes(config: Record<string, string>, labels: Record<string, string>, env: readonly string[]): Map<string, string> {
  const extra = new Map<string, string>();
  for (const l of (config.labels ?? '').split(',')) {
    if (l !== '' && Object.hasOwn(labels, l)) extra.set(l, labels[l]!);
  }
  const labelsRe = compile(config['labels-regex']);
  if (labelsRe) for (const [k, v] of Object.entries(labels)) if (labelsRe.test(k)) extra.set(k, v);
  const envMap = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq >= 0) envMap.set(e.slice(0, eq), e.slice(eq + 1));
  }
  for (const k of (config.env ?? '').split(',')) {
    const v = envMap.get(k);
    if (k !== '' && v !== undefined) extra.set(k, v);
  }
  const envRe = compile(config['env-regex']);
  if (envRe) for (const [k, v] of envMap) if (envRe.test(k)) extra.set(k, v);
  return extra;
}

/** Go's url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay; a space becomes '+'. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The `--details` prefix: `k=v,k2=v2` sorted by key, query-escaped, then a space (just a space when there are none). */
export function detailsPrefix(attrs: Map<string, string>): Buffer {
  const parts = [...attrs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`);
  return Buffer.from(`${parts.join(',')} `);
}
