/**
 * @module registry/registry
 * The registry's state on disk and the services over it, opened once per
 * process: the content store (the engine's LocalContentStore under
 * `<root>/content`: the same contract and layout as berthd's, blobs shared by
 * every repository), the repository metadata, upload sessions, pull leases,
 * the authenticator for the configured mode, and the collector's schedule.
 *
 * Layout under `<root>`:
 *   content/          the content store (blobs/sha256/<hex>, ingest/ = upload sessions)
 *   repositories/     per-repository links, tags, referrers (./repositories.ts)
 *   leases/           pull leases the collector honours (./gc.ts)
 *   token-key.pem     the token signing key, when token auth made its own
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { LocalContentStore } from '../engine/content/store.js';
import { HtpasswdAuth, Htpasswd, OpenAuth, TokenAuth, TokenService, type Authenticator } from './auth.js';
import type { RegistryConfig } from './config.js';
import { collectGarbage, Leases, type GcResult } from './gc.js';
import { Repositories } from './repositories.js';
import { Uploads } from './uploads.js';

export class Registry {
  private gcTimer?: NodeJS.Timeout;
  private gcRunning?: Promise<GcResult>;

  private constructor(
    readonly cfg: RegistryConfig,
    readonly content: LocalContentStore,
    readonly repos: Repositories,
    readonly uploads: Uploads,
    readonly leases: Leases,
    readonly auth: Authenticator,
    readonly tokens: TokenService | undefined,
  ) {}

  /** Opens the stores only (what `berth registry gc` needs). */
  static async openStores(cfg: RegistryConfig): Promise<{ content: LocalContentStore; repos: Repositories; leases: Leases }> {
    await fsp.mkdir(cfg.root, { recursive: true });
    const content = await LocalContentStore.open(path.join(cfg.root, 'content'), cfg.uploadExpiryMs > 0 ? { ingestExpiryMs: cfg.uploadExpiryMs } : { ingestExpiryMs: Number.MAX_SAFE_INTEGER });
    const repos = new Repositories(cfg.root);
    await repos.init();
    const leases = new Leases(cfg.root);
    await leases.init();
    return { content, repos, leases };
  }

  static async open(cfg: RegistryConfig, log: (line: string) => void = () => undefined): Promise<Registry> {
    const { content, repos, leases } = await Registry.openStores(cfg);
    const uploads = new Uploads(content, { maxUploads: cfg.maxUploads, maxBlobSize: cfg.maxBlobSize, expiryMs: cfg.uploadExpiryMs, root: cfg.root });
    await uploads.init();
    let htpasswd: Htpasswd | undefined;
    if (cfg.htpasswd) {
      htpasswd = new Htpasswd(cfg.htpasswd.path);
      await htpasswd.load();
    }
    let auth: Authenticator = new OpenAuth();
    let tokens: TokenService | undefined;
    if (cfg.token) {
      tokens = await TokenService.open(cfg.token, cfg.root, htpasswd, cfg.acl);
      auth = new TokenAuth(tokens);
    } else if (htpasswd && cfg.htpasswd) auth = new HtpasswdAuth(htpasswd, cfg.htpasswd.realm, cfg.acl);
    const r = new Registry(cfg, content, repos, uploads, leases, auth, tokens);
    if (cfg.gcIntervalMs > 0 && !cfg.readOnly) {
      r.gcTimer = setInterval(() => {
        void r.gc().then(
          (res) => res.deleted.length && log(`gc: deleted ${res.deleted.length} blobs, ${res.bytesFreed} bytes`),
          (err: unknown) => log(`gc: ${(err as Error).message}`),
        );
      }, cfg.gcIntervalMs);
      r.gcTimer.unref();
    }
    return r;
  }

  /** One collection; concurrent calls share it. */
  gc(dryRun = false): Promise<GcResult> {
    this.gcRunning ??= collectGarbage(this.content, this.repos, this.leases, { graceMs: this.cfg.gcGraceMs, dryRun }).finally(() => {
      this.gcRunning = undefined;
    });
    return this.gcRunning;
  }

  close(): void {
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.uploads.close();
  }
}
