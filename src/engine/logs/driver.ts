/**
 * @module engine/logs/driver
 * Log drivers as dockerd configures them: the driver name and its options
 * (`--log-driver`, `--log-opt`, daemon.json `log-driver`/`log-opts`), checked
 * at create, and what they mean for berth's storage.
 *
 * Every driver berth has is conmon's k8s-file log underneath (conmon writes
 * it whether or not berthd is running): `json-file` at
 * `containers/<id>/<id>-json.log` (dockerd's path, shown as LogPath),
 * `local` at `containers/<id>/local-logs/container.log` (not shown, as in
 * dockerd), `none` writes nothing. Rotation (./rotate.ts) follows the
 * drivers' options: json-file is unbounded unless `max-size` is given
 * (`max-file` default 1), local keeps 5 files of 20 MB, compressed.
 */
import path from 'node:path';
import { fromHumanSize } from '../../common/units.js';
import { EngineError, invalid } from '../errors.js';

/** The drivers berth stores logs for. */
export const LOG_DRIVERS = ['json-file', 'local', 'none'] as const;

/**
 * The log drivers dockerd 28 has built in (daemon/logger/*) that berth does
 * not implement: refused with a message naming what berth has. Any other
 * name is looked up as a logging plugin, and berth has none.
 */
const DOCKERD_ONLY_DRIVERS = new Set(['journald', 'syslog', 'gelf', 'fluentd', 'awslogs', 'splunk', 'gcplogs', 'logentries', 'etwlogs']);

/** Options every driver takes (dockerd's builtInLogOpts). */
const BUILTIN_OPTS = new Set(['mode', 'max-buffer-size']);
/** Options of json-file's ValidateLogOpt: its own and the common attributes. */
const JSON_FILE_OPTS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);
/** local's LogOptKeys. */
const LOCAL_OPTS = new Set(['max-file', 'max-size', 'compress']);

/** local's defaults (daemon/logger/local/local.go). */
const LOCAL_DEFAULTS = { maxSize: 20 * 1024 * 1024, maxFile: 5, compress: true };

/** What a container's log configuration means on disk. */
export interface LogStorage {
  driver: (typeof LOG_DRIVERS)[number];
  /** The file conmon writes (logFile()); undefined for `none`. */
  file?: string;
  /** Rotate when the file would pass this many bytes; undefined: never. */
  maxSize?: number;
  /** Files kept, the one being written included (dockerd's max-file). */
  maxFile: number;
  /** gzip rotated files. */
  compress: boolean;
}

/** The daemon's default log configuration (daemon.json `log-driver`, `log-opts`). */
export interface LogDefaults {
  Type: string;
  Config: Record<string, string>;
}

export const JSON_FILE_DEFAULTS: LogDefaults = { Type: 'json-file', Config: {} };

/** Go's strconv.Atoi. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new Error(`strconv.Atoi: parsing "${s}": invalid syntax`);
  return Number(s);
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing "${s}": invalid syntax`);
}

/**
 * The option names, as dockerd's logger.ValidateLogOpts checks them at
 * create (and at daemon start for daemon.json's defaults).
 */
export function validateLogOptNames(driver: string, config: Record<string, string>): void {
  if (driver === 'none') {
    // dockerd: the none driver takes no options at all (the CLI says so before sending).
    return;
  }
  const mode = config.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw invalid(`logger: logging mode not supported: ${mode}`);
  if (DOCKERD_ONLY_DRIVERS.has(driver)) throw invalid(`logging driver "${driver}" is not supported by berth (it has ${LOG_DRIVERS.join(', ')})`);
  if (!(LOG_DRIVERS as readonly string[]).includes(driver)) throw invalid(`error looking up logging plugin ${driver}: plugin "${driver}" not found`);
  for (const key of Object.keys(config)) {
    if (BUILTIN_OPTS.has(key)) continue;
    if (driver === 'json-file' && !JSON_FILE_OPTS.has(key)) throw invalid(`unknown log opt '${key}' for json-file log driver`);
    if (driver === 'local' && !LOCAL_OPTS.has(key)) throw invalid(`unknown log opt '${key}' for log driver local`);
  }
}

/**
 * The storage a container's LogConfig asks for. The options' values are
 * checked here with the messages of dockerd's drivers (jsonfilelog.New,
 * local's newConfig), which dockerd only runs at start; berth runs them at
 * create too, so a bad value never makes a container that cannot start.
 */
export function logStorage(containerDir: string, id: string, type: string, config: Record<string, string>): LogStorage {
  const s = logRotation(type, config);
  return { ...s, file: logFile(s.driver, containerDir, id) };
}

/** Where a driver's current log file lives in the container's directory. */
export function logFile(driver: LogStorage['driver'], containerDir: string, id: string): string | undefined {
  if (driver === 'none') return undefined;
  return driver === 'local' ? path.join(containerDir, 'local-logs', 'container.log') : path.join(containerDir, `${id}-json.log`);
}

/** The driver and rotation a LogConfig asks for, its values checked (see logStorage). */
export function logRotation(type: string, config: Record<string, string>): Omit<LogStorage, 'file'> {
  try {
    if (type === 'none') return { driver: 'none', maxFile: 1, compress: false };
    if (type === 'local') {
      const s: Omit<LogStorage, 'file'> = { driver: 'local', ...LOCAL_DEFAULTS };
      if (config['max-size'] !== undefined) {
        try {
          s.maxSize = fromHumanSize(config['max-size']);
        } catch (err) {
          throw new Error(`invalid value for max-size: ${config['max-size']}: ${(err as Error).message}`, { cause: err });
        }
      }
      if (config['max-file'] !== undefined) {
        try {
          s.maxFile = atoi(config['max-file']);
        } catch (err) {
          throw new Error(`invalid value for max-file: ${config['max-file']}: ${(err as Error).message}`, { cause: err });
        }
      }
      if (config.compress !== undefined) {
        try {
          s.compress = parseBool(config.compress);
        } catch (err) {
          throw new Error(`invalid boolean value for compress: ${(err as Error).message}`, { cause: err });
        }
      }
      if (s.maxSize! < 0) throw new Error('max-size must not be negative');
      if (s.maxFile < 0) throw new Error('max-file must not be negative');
      if (s.compress && s.maxFile <= 1) throw new Error('compression cannot be enabled when max file count is 1');
      // local: a max-size of 0 means no limit; max-file 0 keeps one file as 1 does.
      return { ...s, maxSize: s.maxSize || undefined, maxFile: Math.max(1, s.maxFile) };
    }
    // json-file
    let maxSize: number | undefined;
    if (config['max-size'] !== undefined) {
      maxSize = fromHumanSize(config['max-size']);
      if (maxSize <= 0) throw new Error('max-size must be a positive number');
    }
    let maxFile = 1;
    if (config['max-file'] !== undefined) {
      maxFile = atoi(config['max-file']);
      if (maxFile < 1) throw new Error('max-file cannot be less than 1');
    }
    let compress = false;
    if (config.compress !== undefined) {
      compress = parseBool(config.compress);
      if (compress && (maxFile === 1 || maxSize === undefined)) throw new Error('compress cannot be true when max-file is less than 2 or max-size is not set');
    }
    return { driver: 'json-file', maxSize, maxFile, compress };
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw invalid(`failed to initialize logging driver: ${(err as Error).message}`);
  }
}

/**
 * dockerd's mergeAndVerifyLogConfig: an empty type is the daemon's default;
 * a container of the default type inherits the default options it does not
 * set itself.
 */
export function mergeLogConfig(cfg: { Type?: string; Config?: Record<string, string> } | undefined, defaults: LogDefaults): { Type: string; Config: Record<string, string> } {
  const type = cfg?.Type || defaults.Type;
  const config = { ...(cfg?.Config ?? {}) };
  if (type === defaults.Type) for (const [k, v] of Object.entries(defaults.Config)) if (!Object.hasOwn(config, k)) config[k] = v;
  return { Type: type, Config: config };
}
