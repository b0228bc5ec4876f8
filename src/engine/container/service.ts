/**
 * @module engine/container/service
 * The container service: every container operation, for both front ends,
 * behind one API. The work is done by one part per concept (see
 * ./context.ts for the list); the states and their transitions are in
 * ./state.ts.
 *
 * Collaborators come through the constructor (ContainerDeps); nothing is
 * assigned afterwards.
 */
import type { Duplex } from 'node:stream';
import type { IdentityMapping } from '../idmap.js';
import type { LogReadOptions } from '../logs/k8sfile.js';
import type { NetworkService } from '../network/service.js';
import type { ConmonRuntime } from '../runtime/conmon.js';
import type { VolumeService } from '../volume/service.js';
import type { Change } from '../layer/diff.js';
import { ContainerCommitter } from './commit.js';
import { ContainerContext, type ContainerDeps } from './context.js';
import { ContainerCreator } from './create.js';
import { ContainerLifecycle, type WaitCondition } from './lifecycle.js';
import { ContainerSettings } from './settings.js';
import { ContainerNetworking } from './networking.js';
import { removeLink } from './links.js';
import type { EndpointConfig } from '../network/networks.js';
import type { ContainerStore } from './store.js';
import { ContainerStreams, type AttachOptions } from './streams.js';
import type { ContainerConfig, ContainerRecord, CreateBody, HostConfig } from './types.js';
import type { Health } from './health.js';
import { ContainerViews } from './views.js';

export type { ContainerDeps, ContainerServiceOptions, ExecHooks } from './context.js';
export type { WaitCondition } from './lifecycle.js';
export type { AttachOptions } from './streams.js';
export { parseSignal } from './signals.js';

export class ContainerService {
  private readonly ctx: ContainerContext;
  private readonly creator: ContainerCreator;
  private readonly lifecycle: ContainerLifecycle;
  private readonly streams: ContainerStreams;
  private readonly views: ContainerViews;
  private readonly settings: ContainerSettings;
  private readonly committer: ContainerCommitter;
  private readonly conmon: ConmonRuntime;
  private readonly networking: ContainerNetworking;

  constructor(deps: ContainerDeps & { runtime: ConmonRuntime }) {
    this.conmon = deps.runtime;
    const ctx = (this.ctx = new ContainerContext(deps));
    this.creator = new ContainerCreator(ctx);
    this.streams = new ContainerStreams(ctx, (id, condition, signal) => this.lifecycle.wait(id, condition, signal));
    this.lifecycle = new ContainerLifecycle(ctx, this.streams);
    this.views = new ContainerViews(ctx);
    this.settings = new ContainerSettings(ctx);
    this.committer = new ContainerCommitter(ctx, this.lifecycle);
    this.networking = new ContainerNetworking(ctx);
  }

  /** `docker rm --link /parent/alias` (./links.ts). */
  async removeLink(name: string): Promise<void> {
    const parent = removeLink(name, this.ctx.store);
    await this.ctx.lock(parent.Id).run(() => this.ctx.store.save(parent));
  }

  /** `docker network connect` (./networking.ts). */
  networkConnect(network: string, container: string, cfg?: EndpointConfig): Promise<void> {
    return this.networking.connect(network, container, cfg);
  }

  /** `docker network disconnect` (./networking.ts). */
  networkDisconnect(network: string, container: string, force?: boolean): Promise<void> {
    return this.networking.disconnect(network, container, force);
  }

  // The collaborators, for the API until it asks the engine for them (Engine.networks, .volumes, .runtime).
  get store(): ContainerStore {
    return this.ctx.store;
  }

  get runtime(): ConmonRuntime {
    return this.conmon;
  }

  get networks(): NetworkService {
    return this.ctx.networks;
  }

  get volumes(): VolumeService {
    return this.ctx.volumes;
  }

  /** `--userns-remap`: how container IDs map to host IDs (undefined: identity). */
  get idMap(): IdentityMapping | undefined {
    return this.ctx.idMap;
  }

  /** Publishes a container event with dockerd's attributes (image, name, labels). */
  publish(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.ctx.publish(c, action, extra);
  }

  bundleDir(id: string): string {
    return this.ctx.bundleDir(id);
  }

  /**
   * Listens to runs beginning (a start, or a container found running at
   * daemon start) and ending: the healthcheck monitor's cue (./health.ts).
   */
  onRuns(started: (c: ContainerRecord) => void, ended: (id: string) => void): void {
    this.ctx.signals.on('run-started', started);
    this.ctx.signals.on('run-ended', ended);
  }

  /** Records a container's health (./health.ts); a change of status is a `health_status: <status>` event, as in dockerd. */
  async setHealth(c: ContainerRecord, h: Health, changed: boolean): Promise<void> {
    if (!this.ctx.store.get(c.Id)) return;
    c.State = { ...c.State, Health: h };
    await this.ctx.store.save(c);
    if (changed) this.ctx.publish(c, `health_status: ${h.Status}`);
  }

  // ---- create (./create.ts) ----

  create(body: CreateBody, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    return this.creator.create(body, name);
  }

  // ---- runs (./lifecycle.ts) ----

  /** Reconciles records with reality after a daemon (re)start: containers keep running under conmon. */
  restore(): Promise<void> {
    return this.lifecycle.restore();
  }

  /** Ends a run whose conmon is gone (the store check's repair): as an exit with `code`, under the container's lock. */
  markExited(id: string, code: number, error: string): Promise<void> {
    return this.lifecycle.markExited(id, code, error);
  }

  /** Whether something holds the container's lock (a start, an exit, a removal): the store check leaves it alone. */
  busy(id: string): boolean {
    return this.ctx.locks.get(id)?.busy ?? false;
  }

  start(idOrName: string, o: { byPolicy?: 'restart' | 'boot' } = {}): Promise<void> {
    return this.lifecycle.start(idOrName, o);
  }

  handleExit(id: string): Promise<void> {
    return this.lifecycle.handleExit(id);
  }

  wait(idOrName: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    return this.lifecycle.wait(idOrName, condition, signal);
  }

  kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    return this.lifecycle.kill(idOrName, signal);
  }

  stop(idOrName: string, timeout?: number, signal?: string): Promise<void> {
    return this.lifecycle.stop(idOrName, timeout, signal);
  }

  restart(idOrName: string, timeout?: number, signal?: string): Promise<void> {
    return this.lifecycle.restart(idOrName, timeout, signal);
  }

  pause(idOrName: string): Promise<void> {
    return this.lifecycle.pause(idOrName);
  }

  unpause(idOrName: string): Promise<void> {
    return this.lifecycle.unpause(idOrName);
  }

  remove(idOrName: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.lifecycle.remove(idOrName, opts);
  }

  prune(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    return this.lifecycle.prune(filters);
  }

  withRootfs<T>(idOrName: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>): Promise<T> {
    return this.lifecycle.withRootfs(idOrName, fn);
  }

  /** Containers still running: the daemon's shutdown leaves them be. */
  running(): ContainerRecord[] {
    return this.lifecycle.running();
  }

  /** Stops background work (the exit sweep); containers keep running. */
  close(): void {
    this.lifecycle.close();
  }

  // ---- stdio (./streams.ts) ----

  attach(idOrName: string, o: AttachOptions, client: Duplex): Promise<void> {
    return this.streams.attach(idOrName, o, client);
  }

  resize(idOrName: string, h: number, w: number): Promise<void> {
    return this.streams.resize(idOrName, h, w);
  }

  /** Throws dockerd's 501 when the container's log driver keeps nothing to read (`none`): before a response starts. */
  checkLogsReadable(idOrName: string): void {
    this.streams.logFile(this.ctx.store.resolve(idOrName));
  }

  logs(idOrName: string, o: LogReadOptions & { timestamps: boolean; details?: boolean }, write: (b: Buffer) => void, signal: AbortSignal): Promise<{ tty: boolean }> {
    return this.streams.logs(idOrName, o, write, signal);
  }

  // ---- Docker's shapes (./views.ts) ----

  list(o: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> } = {}): Promise<object[]> {
    return this.views.list(o);
  }

  inspect(idOrName: string, size = false): Promise<Record<string, unknown>> {
    return this.views.inspect(idOrName, size);
  }

  // ---- settings (./settings.ts) ----

  async rename(idOrName: string, newName: string): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    await this.settings.rename(idOrName, newName);
    // Its name on its user networks changes with it.
    await this.ctx.networks.refreshDns(c);
  }

  update(idOrName: string, u: Partial<HostConfig>): Promise<{ Warnings: string[] }> {
    return this.settings.update(idOrName, u);
  }

  // ---- changes (./commit.ts) ----

  changes(idOrName: string): Promise<Change[]> {
    return this.committer.changes(idOrName);
  }

  commit(
    idOrName: string,
    o: { ref?: string; author?: string; comment?: string; changes?: string[]; config?: Partial<ContainerConfig>; pause?: boolean },
  ): Promise<string> {
    return this.committer.commit(idOrName, o);
  }
}
