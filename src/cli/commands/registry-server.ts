/**
 * `berth registry serve|gc`: the registry server (src/registry/) run from
 * the CLI. Thin: flags become a RegistryConfig (a config file in the
 * distribution registry's layout under them), and the work is the
 * registry's. `serve` prints the address it bound (useful with port 0) and
 * runs until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { StatusError } from '../errors.js';
import { DEFAULTS } from '../../registry/config.js';

interface ServeFlags {
  config?: string;
  addr?: string;
  root?: string;
  tlsCert?: string;
  tlsKey?: string;
  htpasswd?: string;
  readOnly?: boolean;
  token?: boolean;
  tokenRealm?: string;
  tokenService?: string;
  tokenIssuer?: string;
  tokenKey?: string;
  tokenExpiry?: string;
  maxBlobSize?: string;
  maxUploads?: string;
  gcInterval?: string;
  gcGrace?: string;
  uploadExpiry?: string;
}

export function registerRegistryServerCommands(program: Command, cli: Cli): void {
  const registry = defineGroup(program, 'registry', 'Run a private image registry (OCI distribution spec)');

  defineCommand<ServeFlags>(
    registry,
    { name: 'serve', use: 'serve [OPTIONS]', description: 'Serve a registry', args: { max: 0 } },
    async (_args, o) => {
      // No optimizing compiler in the server: its hot paths are native
      // (sockets, hashing, files), and the first TurboFan compile (module
      // resolution at start triggers one) pages in ~3.5 MB of node's code:
      // 49.6 instead of 53.5 MB at rest, throughput unchanged (README).
      // Set before the server's modules load; V8 reads it at each tier-up.
      (await import('node:v8')).setFlagsFromString('--no-opt');
      // Loaded here, not at the top: the rest of the CLI never pays for the server's modules.
      const { loadConfig } = await import('../../registry/config.js');
      const { Registry } = await import('../../registry/registry.js');
      const { serveRegistry } = await import('../../registry/server.js');
      const cfg = await loadConfig(o).catch((err: Error) => {
        throw new StatusError(1, `berth registry: ${err.message}`);
      });
      const log = (l: string) => cli.err.write(`${new Date().toISOString()} ${l}\n`);
      const reg = await Registry.open(cfg, log);
      const srv = await serveRegistry(reg, log);
      cli.out.write(`listening on ${srv.address}${cfg.tls ? ' (TLS)' : ''}, root ${cfg.root}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await srv.close();
      reg.close();
    },
  )
    .option('--config <file>', 'Configuration file (YAML or JSON, laid out like the distribution registry\'s)')
    .option('--addr <host:port>', `Address to listen on (default "${DEFAULTS.addr}"; port 0 picks a free one)`)
    .option('--root <dir>', `Storage root directory (default "${DEFAULTS.root}")`)
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--htpasswd <file>', 'Require HTTP Basic auth against this htpasswd file (bcrypt)')
    .option('--read-only', 'Serve pulls only')
    .option('--token', 'Require Bearer tokens from this server\'s /token endpoint')
    .option('--token-realm <url>', 'Token realm sent in challenges (default: this server\'s /token)')
    .option('--token-service <name>', `Token service (audience) name (default "${DEFAULTS.service}")`)
    .option('--token-issuer <name>', 'Token issuer name')
    .option('--token-key <file>', 'EC P-256 private key (PEM) signing tokens (default: one kept under the root)')
    .option('--token-expiry <duration>', `Token lifetime (default ${DEFAULTS.tokenExpiry})`)
    .option('--max-blob-size <size>', 'Largest blob accepted (e.g. 10GB; default: the free space)')
    .option('--max-uploads <n>', `Upload sessions open at once (default ${DEFAULTS.maxUploads})`)
    .option('--gc-interval <duration>', `How often to collect garbage (default ${DEFAULTS.gcInterval}; 0: never)`)
    .option('--gc-grace <duration>', `Blobs pushed and manifests pulled this recently are kept (default ${DEFAULTS.gcGrace})`)
    .option('--upload-expiry <duration>', `Unfinished uploads are dropped after (default ${DEFAULTS.uploadExpiry})`);

  defineCommand<{ config?: string; root?: string; dryRun?: boolean; gcGrace?: string; deleteUntagged?: boolean }>(
    registry,
    { name: 'gc', use: 'gc [OPTIONS]', description: 'Delete blobs no manifest refers to (safe while the server runs)', args: { max: 0 } },
    async (_args, o) => {
      const { loadConfig } = await import('../../registry/config.js');
      const { Registry } = await import('../../registry/registry.js');
      const { collectGarbage } = await import('../../registry/gc.js');
      const cfg = await loadConfig({ ...(o.config ? { config: o.config } : {}), ...(o.root ? { root: o.root } : {}), ...(o.gcGrace ? { gcGrace: o.gcGrace } : {}) }).catch((err: Error) => {
        throw new StatusError(1, `berth registry: ${err.message}`);
      });
      const { content, repos, leases } = await Registry.openStores(cfg);
      const r = await collectGarbage(content, repos, leases, { graceMs: cfg.gcGraceMs, dryRun: !!o.dryRun, deleteUntagged: !!o.deleteUntagged, log: (l) => cli.out.write(`${l}\n`) });
      const manifests = o.deleteUntagged ? `${r.untagged.length} untagged manifests and ` : '';
      cli.out.write(`${o.dryRun ? 'would delete' : 'deleted'} ${manifests}${r.deleted.length} blobs, ${r.bytesFreed} bytes; ${r.marked} marked\n`);
    },
  )
    .option('--config <file>', 'Configuration file')
    .option('--root <dir>', `Storage root directory (default "${DEFAULTS.root}")`)
    .option('--gc-grace <duration>', `Blobs pushed and manifests pulled this recently are kept (default ${DEFAULTS.gcGrace})`)
    .option('--delete-untagged', 'Also remove manifests no tag reaches (keeping their referrers with what is tagged)')
    .option('--dry-run', 'Only print what would be deleted');
}
