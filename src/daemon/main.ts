#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * berthd: opens the engine on the data root and serves the Engine API on
 * every -H address. Stopping berthd leaves containers running (conmon keeps
 * them); the next berthd picks them up.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type http from 'node:http';
import type https from 'node:https';
import { CommanderError } from 'commander';
import { Engine } from '../engine/engine.js';
import { Router } from '../api/router.js';
import { createApiServer } from '../api/server.js';
import { systemRoutes } from '../api/compat/system.js';
import { imageRoutes } from '../api/compat/images.js';
import { buildRoutes } from '../api/compat/build.js';
import { distributionRoutes } from '../api/compat/distribution.js';
import { archiveRoutes } from '../api/compat/archive.js';
import { containerRoutes } from '../api/compat/containers.js';
import { execRoutes } from '../api/compat/exec.js';
import { commitRoutes } from '../api/compat/commit.js';
import { containerArchiveRoutes } from '../api/compat/archive-container.js';
import { eventRoutes } from '../api/compat/events.js';
import { observeRoutes } from '../api/compat/observe.js';
import { networkRoutes } from '../api/compat/networks.js';
import { volumeRoutes } from '../api/compat/volumes.js';
import { swarmRoutes } from '../api/compat/swarm.js';
import { pluginRoutes } from '../api/compat/plugins.js';
import { berthSystemRoutes } from '../api/berth/system.js';
import { ConfigError, parseDaemonArgs, type DaemonConfig } from './config.js';
import { lockDataRoot, LockedError } from './lock.js';
import { createLogger, type Logger } from './log.js';
import { remappedDataRoot, RemapError, setupRemappedRoot, type RemappedRoot } from './userns.js';
import { atomicWriteFile, readJsonIfExists, atomicWriteJson } from '../util/fs.js';
import { enableTracing } from '../engine/trace.js';

function tlsOptions(cfg: DaemonConfig): https.ServerOptions | undefined {
  if (!cfg.tls && !cfg.tlsverify) return undefined;
  if (!cfg.tlscert || !cfg.tlskey) throw new ConfigError('TLS needs --tlscert and --tlskey');
  if (cfg.tlsverify && !cfg.tlscacert) throw new ConfigError('--tlsverify needs --tlscacert');
  return {
    cert: readFileSync(cfg.tlscert),
    key: readFileSync(cfg.tlskey),
    ...(cfg.tlscacert ? { ca: readFileSync(cfg.tlscacert) } : {}),
    requestCert: cfg.tlsverify,
    rejectUnauthorized: cfg.tlsverify,
  };
}

async function listen(server: http.Server, host: string, log: Logger): Promise<() => Promise<void>> {
  if (host.startsWith('unix://')) {
    const file = host.slice('unix://'.length);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    // We hold the data-root lock, so a socket file here is a dead daemon's.
    await fsp.rm(file, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The socket is root's (group root): anyone who can reach it can run containers as root.
    await fsp.chmod(file, 0o660);
    log.info(`API listen on ${file}`);
    return async () => {
      await fsp.rm(file, { force: true });
    };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(host);
  if (m) {
    const addr = (m[1] || '127.0.0.1').replace(/^\[|\]$/g, '');
    const port = Number(m[2] ?? 2376);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, addr, () => {
        server.off('error', reject);
        resolve();
      });
    });
    log.info(`API listen on ${addr}:${port}`);
    return async () => undefined;
  }
  throw new ConfigError(`invalid host: ${host} (use unix:///path or tcp://addr:port)`);
}

async function main(): Promise<number> {
  let cfg: DaemonConfig;
  try {
    cfg = await parseDaemonArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`berthd: ${(err as Error).message}\n`);
    return 1;
  }
  const log = createLogger(cfg.debug);
  // --debug also logs, per request and per container exit, where the time went (engine/trace.ts).
  if (cfg.debug) enableTracing((line) => log.debug(line));
  if (process.getuid?.() !== 0) {
    log.error('berthd needs to be started with root privileges');
    return 1;
  }
  for (const h of cfg.hosts) {
    if (h.startsWith('tcp://') && !cfg.tls && !cfg.tlsverify && !cfg.tlsDisabled) {
      log.error(`refusing to listen on ${h} without TLS: pass --tlsverify with --tlscacert, --tlscert and --tlskey, or --tls=false to accept unauthenticated plain-text connections`);
      return 1;
    }
  }
  let remap: RemappedRoot | null = null;
  if (cfg.usernsRemap) {
    try {
      remap = await setupRemappedRoot(cfg.usernsRemap);
    } catch (err) {
      if (!(err instanceof RemapError)) throw err;
      log.error(err.message);
      return 1;
    }
    if (!remap) log.warn('User namespaces: root cannot be remapped with itself; user namespaces are OFF');
  }
  await fsp.mkdir(cfg.dataRoot, { recursive: true, mode: 0o710 });
  await fsp.mkdir(cfg.execRoot, { recursive: true, mode: 0o700 });
  try {
    await lockDataRoot(path.resolve(cfg.dataRoot));
  } catch (err) {
    if (err instanceof LockedError) {
      const pid = await fsp.readFile(cfg.pidfile, 'utf8').catch(() => '');
      log.error(`${err.message}${pid ? ` (pid ${pid.trim()})` : ''}`);
      return 1;
    }
    throw err;
  }
  await fsp.mkdir(path.dirname(cfg.pidfile), { recursive: true });
  await atomicWriteFile(cfg.pidfile, `${process.pid}`);

  // Under --userns-remap everything lives in <data-root>/<uid>.<gid>, as dockerd keeps it: images unpacked for one mapping are not shared with another.
  let dataRoot = cfg.dataRoot;
  if (remap) {
    try {
      dataRoot = await remappedDataRoot(cfg.dataRoot, remap.idMap.rootPair());
    } catch (err) {
      log.error((err as Error).message);
      return 1;
    }
    log.info(`User namespaces: ID ranges will be mapped to subuid/subgid ranges of: ${remap.user}`);
  }

  const idFile = path.join(dataRoot, 'engine-id.json');
  let id = (await readJsonIfExists<{ id: string }>(idFile))?.id;
  if (!id) {
    id = randomUUID();
    await atomicWriteJson(idFile, { id });
  }

  log.info(`starting berthd (data root ${dataRoot}, exec root ${cfg.execRoot})`);
  let engine: Engine;
  try {
    engine = await Engine.open({
      dataRoot,
      execRoot: cfg.execRoot,
      seccompProfile: cfg.seccompProfile,
      logDefaults: cfg.logDefaults,
      idMap: remap?.idMap,
      bridge: cfg.bridge === 'none' ? undefined : { bridge: cfg.bridge, bip: cfg.bip, ipMasq: cfg.ipMasq, ipForward: cfg.ipForward, iptables: cfg.iptables },
      registry: {
        mirrors: cfg.registryMirrors,
        insecure: cfg.insecureRegistries,
        // dockerd reads /etc/docker/certs.d; berth its config directory's certs.d.
        certsDir: path.join(path.dirname(cfg.configFile), 'certs.d'),
        maxConcurrentDownloads: cfg.maxConcurrentDownloads,
        maxConcurrentUploads: cfg.maxConcurrentUploads,
        maxDownloadAttempts: cfg.maxDownloadAttempts,
        retryTickMs: cfg.downloadRetryTickMs,
      },
    });
  } catch (err) {
    log.error(`failed to start daemon: ${(err as Error).message}`);
    return 1;
  }
  // What the start-up check (the store check's cheap part) found and repaired.
  for (const f of engine.startupFindings) {
    const done = f.Repaired === undefined ? '' : f.Repaired ? ` (${f.Action}: done)` : ` (${f.Action}: failed: ${f.Error})`;
    log.warn(`start-up check: ${f.Kind} ${f.Subject}: ${f.Message}${done}`);
  }
  const router = new Router();
  systemRoutes(router, engine, { debug: cfg.debug, id });
  imageRoutes(router, engine);
  buildRoutes(router, engine);
  distributionRoutes(router, engine);
  archiveRoutes(router, engine);
  containerRoutes(router, engine);
  execRoutes(router, engine);
  commitRoutes(router, engine);
  containerArchiveRoutes(router, engine);
  eventRoutes(router, engine);
  observeRoutes(router, engine);
  networkRoutes(router, engine);
  volumeRoutes(router, engine);
  swarmRoutes(router, engine);
  pluginRoutes(router, engine);
  berthSystemRoutes(router, engine);

  const closers: (() => Promise<void>)[] = [];
  const servers: http.Server[] = [];
  for (const host of cfg.hosts) {
    const server = createApiServer(router, log, host.startsWith('tcp://') ? tlsOptions(cfg) : undefined);
    servers.push(server);
    closers.push(await listen(server, host, log));
  }
  log.info('daemon has completed initialization');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`processing signal '${signal}'`);
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    await engine.close().catch(() => undefined);
    for (const c of closers) await c();
    await fsp.rm(cfg.pidfile, { force: true });
    log.info('daemon shut down; containers keep running');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('terminated'));
  process.on('SIGINT', () => void shutdown('interrupt'));
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`berthd: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
