/**
 * @module engine/logs/attributes
 * Log options of the json-file driver (`--log-opt`), as dockerd checks them
 * at create, and the extra attributes they select (`labels`, `labels-regex`,
 * `env`, `env-regex`) that `docker logs --details` puts before each line.
 * dockerd computes the attributes once, when the container's logger is made,
 * from the container's labels and environment; berth computes the same map
 * when the log is read, since conmon's log has no room for them.
 */

import { invalid } from '../errors.js';

/** dockerd's json-file driver: every log-opt it accepts. */
const JSON_FILE_OPTS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);

/**
 * The log drivers dockerd 28 has built in (daemon/logger/*). Any other name
 * is looked up as a logging plugin, and berth has none: refused at create.
 */
const KNOWN_LOG_DRIVERS = new Set(['json-file', 'local', 'journald', 'syslog', 'gelf', 'fluentd', 'awslogs', 'splunk', 'gcplogs', 'logentries', 'none']);

/**
 * Rejects what dockerd's logger.ValidateLogOpts rejects at create: a driver
 * that is neither built in nor a plugin (with the plugin lookup's message),
 * a logging mode it does not know, and log options json-file does not know.
 */
export function validateLogOpts(driver: string, config: Record<string, string>): void {
  if (driver === 'none') return;
  const mode = config.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw invalid(`logger: logging mode not supported: ${mode}`);
  if (!KNOWN_LOG_DRIVERS.has(driver)) throw invalid(`error looking up logging plugin ${driver}: plugin "${driver}" not found`);
  if (driver !== 'json-file') return;
  for (const key of Object.keys(config)) {
    // mode and max-buffer-size are every driver's (dockerd's builtInLogOpts).
    if (!JSON_FILE_OPTS.has(key) && key !== 'mode' && key !== 'max-buffer-size') throw invalid(`unknown log opt '${key}' for json-file log driver`);
  }
}

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
