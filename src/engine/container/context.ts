/**
 * @module engine/container/context
 * What the parts of the container service share: their collaborators (given
 * to the service's constructor, never assigned afterwards), one lock per
 * container, and the per-container signals (started, exited, removed) that
 * wait() and the attach and log streams listen to.
 *
 * The parts, one concept each: ./create.ts (config merge, validation),
 * ./lifecycle.ts (start, exit, stop, kill, pause, restart policy, remove),
 * ./streams.ts (attach, logs, resize), ./views.ts (list and inspect in
 * Docker's shapes), ./settings.ts (update, rename), ./commit.ts (commit,
 * diff). ./service.ts puts them together behind one API.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { EventLog } from '../events.js';
import type { IdentityMapping } from '../idmap.js';
import type { ImageService } from '../image/service.js';
import type { LogDefaults, LogStorage } from '../logs/driver.js';
import { containerLogStorage, LogRotation } from './logging.js';
import type { NetworkService } from '../network/service.js';
import type { OCIRuntime } from '../runtime/runtime.js';
import type { VolumeService } from '../volume/service.js';
import { Mutex } from '../../util/mutex.js';
import type { ContainerRootfs } from './rootfs.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord } from './types.js';

export interface ContainerServiceOptions {
  execRoot: string;
  /** Host binary bind-mounted for --init. */
  initBinary?: string;
  seccompProfile?: string;
  /** daemon.json `log-driver`/`log-opts`: what a container without its own LogConfig gets. */
  logDefaults?: LogDefaults;
}

/**
 * What the exec service (src/engine/exec) lends the container service: the
 * IDs shown as a container's ExecIDs, and word of stops and removals so it
 * can drop sessions. An interface rather than an import: exec depends on
 * containers, not the other way round.
 */
export interface ExecHooks {
  /** Exec sessions of the container that have not finished, oldest first. */
  idsFor(containerId: string): string[];
  containerStopped(containerId: string): void;
  containerRemoved(containerId: string): void;
}

/** The container service's collaborators. */
export interface ContainerDeps {
  store: ContainerStore;
  images: ImageService;
  rootfs: ContainerRootfs;
  runtime: OCIRuntime;
  networks: NetworkService;
  volumes: VolumeService;
  /** Where `docker events` hears of container lifecycle. */
  events: EventLog;
  /** Exec sessions (none: a container has no ExecIDs). */
  exec?: ExecHooks;
  opts: ContainerServiceOptions;
}

const NO_EXEC: ExecHooks = { idsFor: () => [], containerStopped: () => undefined, containerRemoved: () => undefined };

export class ContainerContext {
  readonly store: ContainerStore;
  readonly images: ImageService;
  readonly rootfs: ContainerRootfs;
  readonly runtime: OCIRuntime;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly eventLog: EventLog;
  readonly exec: ExecHooks;
  readonly opts: ContainerServiceOptions;
  /** Per-container signals: `started:<id>`, `exited:<id>` (with the exit code), `removed:<id>`. */
  readonly signals = new EventEmitter();
  /** One lock per container: start, exit handling, pause, update, removal and rootfs access take turns. */
  readonly locks = new Map<string, Mutex>();
  /** OCI bundles (config.json, conmon's pidfiles) under the exec root. */
  readonly bundleRoot: string;
  /** Log rotation of running containers (./logging.ts). */
  readonly logRotation: LogRotation;

  constructor(d: ContainerDeps) {
    this.store = d.store;
    this.images = d.images;
    this.rootfs = d.rootfs;
    this.runtime = d.runtime;
    this.networks = d.networks;
    this.volumes = d.volumes;
    this.eventLog = d.events;
    this.exec = d.exec ?? NO_EXEC;
    this.opts = d.opts;
    this.signals.setMaxListeners(0);
    this.bundleRoot = path.join(d.opts.execRoot, 'containers');
    this.logRotation = new LogRotation(d.runtime);
  }

  /** Publishes a container event with dockerd's attributes (image, name, labels). */
  publish(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.eventLog.publish('container', action, c.Id, { ...(c.Config.Labels ?? {}), image: c.Config.Image, name: c.Name.slice(1), ...extra });
  }

  lock(id: string): Mutex {
    let m = this.locks.get(id);
    if (!m) this.locks.set(id, (m = new Mutex()));
    return m;
  }

  bundleDir(id: string): string {
    return path.join(this.bundleRoot, id);
  }

  /** Where the container's log lives and how it rotates. */
  logStorage(c: ContainerRecord): LogStorage {
    return containerLogStorage(this.store.dir(c.Id), c);
  }

  /** `--userns-remap`: how container IDs map to host IDs (undefined: identity). */
  get idMap(): IdentityMapping | undefined {
    return this.rootfs.idMap;
  }
}
