/**
 * @module registry/config
 * `berth registry serve`'s settings: a YAML (or JSON) file laid out like the
 * distribution registry's config.yml, so an existing one mostly carries over
 * (`http.addr`, `http.tls.certificate/key`, `storage.filesystem.rootdirectory`,
 * `storage.delete.enabled`, `storage.maintenance.readonly`,
 * `storage.maintenance.uploadpurging`, `auth.htpasswd`, `auth.token`), with
 * berth's additions beside them (`storage.gc`, `storage.maxblobsize`,
 * `http.maxuploads`, `auth.token.acl`). Flags win over the file.
 */
import { promises as fsp } from 'node:fs';
import { fromHumanSize } from '../common/units.js';
import type { AclRule } from './access.js';

export interface RegistryConfig {
  addr: string;
  root: string;
  tls?: { cert: string; key: string };
  readOnly: boolean;
  deleteEnabled: boolean;
  /** Bytes; 0: only the free space on the root's filesystem limits a blob. */
  maxBlobSize: number;
  /** Upload sessions open at once before POSTs get 429 TOOMANYREQUESTS. */
  maxUploads: number;
  /** Biggest manifest accepted (413 beyond). */
  maxManifestSize: number;
  /** Upload sessions untouched for this long are dropped (ms). */
  uploadExpiryMs: number;
  /** How often the server collects garbage itself (ms; 0: never). */
  gcIntervalMs: number;
  /** Blobs linked and manifests pulled more recently than this are never collected (ms). */
  gcGraceMs: number;
  htpasswd?: { path: string; realm: string };
  token?: TokenConfig;
  acl?: AclRule[];
}

export interface TokenConfig {
  /** The realm clients are sent to for a token; default: this server's own `/token`. */
  realm?: string;
  service: string;
  issuer: string;
  /** PEM private key (EC P-256) signing tokens; default: one generated once under the root. */
  key?: string;
  expiryMs: number;
}

/** What an unset flag and config key mean; the CLI's help quotes these. */
export const DEFAULTS = {
  addr: '127.0.0.1:5000',
  root: '/var/lib/berth-registry',
  service: 'berth-registry',
  issuer: 'berth-registry-token-issuer',
  tokenExpiry: '5m',
  maxUploads: 1000,
  gcInterval: '24h',
  gcGrace: '1h',
  uploadExpiry: '168h',
};

/** Flags as the CLI passes them (undefined: not given). */
export interface RegistryFlags {
  config?: string;
  addr?: string;
  root?: string;
  tlsCert?: string;
  tlsKey?: string;
  htpasswd?: string;
  readOnly?: boolean;
  tokenRealm?: string;
  tokenService?: string;
  tokenIssuer?: string;
  tokenKey?: string;
  tokenExpiry?: string;
  /** Turns on token auth (also on when any other --token-* flag is given). */
  token?: boolean;
  maxBlobSize?: string;
  maxUploads?: string;
  gcInterval?: string;
  gcGrace?: string;
  uploadExpiry?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const enabled = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : typeof obj(v).enabled === 'boolean' ? (obj(v).enabled as boolean) : undefined);

/** Go's time.ParseDuration for the units configs use (`90s`, `1h30m`, `168h`), in ms; a number is seconds. */
export function parseDuration(v: unknown, what: string): number {
  if (typeof v === 'number') return v * 1000;
  const s = String(v).trim();
  if (s === '0') return 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = s;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`invalid duration for ${what}: ${JSON.stringify(s)}`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

function parseSize(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  try {
    return fromHumanSize(String(v));
  } catch {
    throw new Error(`invalid size for ${what}: ${JSON.stringify(v)}`);
  }
}

/** Reads the config file (if any) and lays the flags over it. */
export async function loadConfig(flags: RegistryFlags): Promise<RegistryConfig> {
  let file: Obj = {};
  if (flags.config) {
    const text = await fsp.readFile(flags.config, 'utf8');
    try {
      // JSON first: the YAML parser costs ~9 MB of resident memory, loaded only for a YAML file.
      file = obj(await parseJsonOrYaml(text));
    } catch (err) {
      throw new Error(`reading ${flags.config}: ${(err as Error).message}`, { cause: err });
    }
  }
  const http = obj(file.http);
  const tls = obj(http.tls);
  const storage = obj(file.storage);
  const maintenance = obj(storage.maintenance);
  const purging = obj(maintenance.uploadpurging);
  const gc = obj(storage.gc);
  const auth = obj(file.auth);
  const htp = obj(auth.htpasswd);
  const tok = obj(auth.token);

  const cert = flags.tlsCert ?? str(tls.certificate);
  const key = flags.tlsKey ?? str(tls.key);
  if (!!cert !== !!key) throw new Error('TLS needs both a certificate and a key (--tls-cert and --tls-key)');

  const htpasswdPath = flags.htpasswd ?? str(htp.path);
  const tokenWanted =
    flags.token || !!(flags.tokenRealm || flags.tokenService || flags.tokenIssuer || flags.tokenKey || flags.tokenExpiry) || Object.keys(tok).length > 0;

  const cfg: RegistryConfig = {
    addr: flags.addr ?? str(http.addr) ?? DEFAULTS.addr,
    root: flags.root ?? str(obj(storage.filesystem).rootdirectory) ?? DEFAULTS.root,
    ...(cert && key ? { tls: { cert, key } } : {}),
    readOnly: flags.readOnly ?? enabled(maintenance.readonly) ?? false,
    deleteEnabled: enabled(storage.delete) ?? true,
    maxBlobSize: flags.maxBlobSize !== undefined ? parseSize(flags.maxBlobSize, '--max-blob-size') : storage.maxblobsize !== undefined ? parseSize(storage.maxblobsize, 'storage.maxblobsize') : 0,
    maxUploads: Number(flags.maxUploads ?? http.maxuploads ?? DEFAULTS.maxUploads),
    maxManifestSize: http.maxmanifestsize !== undefined ? parseSize(http.maxmanifestsize, 'http.maxmanifestsize') : 4 * 1024 * 1024,
    uploadExpiryMs: parseDuration(flags.uploadExpiry ?? (enabled(purging) === false ? '0' : (purging.age ?? DEFAULTS.uploadExpiry)), 'upload expiry'),
    gcIntervalMs: parseDuration(flags.gcInterval ?? gc.interval ?? DEFAULTS.gcInterval, 'gc interval'),
    gcGraceMs: parseDuration(flags.gcGrace ?? gc.grace ?? DEFAULTS.gcGrace, 'gc grace'),
  };
  if (!/^(?:\[[^\]]+\]|[^:]*):\d+$/.test(cfg.addr)) throw new Error(`invalid address ${JSON.stringify(cfg.addr)}: want HOST:PORT`);
  if (!Number.isInteger(cfg.maxUploads) || cfg.maxUploads < 1) throw new Error(`invalid --max-uploads: ${flags.maxUploads ?? String(http.maxuploads)}`);
  if (htpasswdPath) cfg.htpasswd = { path: htpasswdPath, realm: str(htp.realm) ?? 'berth-registry' };
  if (tokenWanted) {
    const realm = flags.tokenRealm ?? str(tok.realm);
    const tkey = flags.tokenKey ?? str(tok.key) ?? str(tok.signingkey);
    cfg.token = {
      ...(realm ? { realm } : {}),
      service: flags.tokenService ?? str(tok.service) ?? DEFAULTS.service,
      issuer: flags.tokenIssuer ?? str(tok.issuer) ?? DEFAULTS.issuer,
      ...(tkey ? { key: tkey } : {}),
      expiryMs: parseDuration(flags.tokenExpiry ?? tok.expiration ?? DEFAULTS.tokenExpiry, 'token expiry'),
    };
  }
  const acl = auth.acl ?? tok.acl;
  if (Array.isArray(acl)) cfg.acl = acl.map((r) => parseRule(obj(r)));
  return cfg;
}

function parseRule(r: Obj): AclRule {
  const actions = Array.isArray(r.actions) ? r.actions.map(String) : String(r.actions ?? '').split(',').filter(Boolean);
  return { account: String(r.account ?? '*'), ...(typeof r.type === 'string' ? { type: r.type } : {}), name: String(r.name ?? '*'), actions };
}

async function parseJsonOrYaml(text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    // yaml is CommonJS: node's import() also names its exports, the CLI bundle's (dist/bin) only
    // has `default`, which both have.
    const yaml = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
    return (yaml.default ?? yaml).parse(text);
  }
}
