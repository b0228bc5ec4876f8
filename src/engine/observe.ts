/**
 * @module engine/observe
 * `docker top` and `docker stats`: looking at a container's processes and
 * resource use. Samples come from container/stats.ts; this module decides
 * when to take them (two a second apart for a single CPU figure, one a second
 * while streaming) and refuses top on a container that is not running.
 */
import type { ContainerTopResponse } from '../common/api/container.js';
import { sampleStats, top } from './container/stats.js';
import type { ContainerRecord } from './container/types.js';
import type { Engine } from './engine.js';
import { conflict } from './errors.js';

type StatsDoc = Record<string, unknown>;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET /containers/{id}/top: `ps` inside a running container. */
export async function containerTop(engine: Engine, idOrName: string, psArgs: string): Promise<ContainerTopResponse> {
  const c = engine.containers.store.resolve(idOrName);
  if (!c.State.Running) throw conflict(`container ${c.Id} is not running`);
  return top(engine.runtime.runc, engine.runtime.runcRoot, c.Id, psArgs);
}

function sampler(c: ContainerRecord): () => Promise<StatsDoc> {
  // dockerd reports interfaces only for containers with a network of their own (not none, host or another's).
  return () => sampleStats(c.Id, c.Name, c.State.Running, c.NetworkAttachment?.mode === 'bridge' ? c.State.Pid : undefined);
}

/**
 * GET /containers/{id}/stats?stream=false: one document. Unless `oneShot`,
 * two samples a second apart, so the client can compute CPU % from
 * precpu_stats (dockerd does the same).
 */
export async function containerStatsOnce(engine: Engine, idOrName: string, oneShot: boolean): Promise<StatsDoc> {
  const c = engine.containers.store.resolve(idOrName);
  const sample = sampler(c);
  const prev = await sample();
  if (oneShot || !c.State.Running) return prev;
  await pause(1000);
  const cur = await sample();
  return { ...cur, preread: prev.read, precpu_stats: prev.cpu_stats };
}

/**
 * GET /containers/{id}/stats (streaming): a sample at once, then one a second
 * with the previous one as precpu_stats, while the container runs and
 * `signal` has not aborted. An unknown container throws before anything is sent.
 */
export async function watchContainerStats(engine: Engine, idOrName: string, send: (doc: StatsDoc) => void, signal: AbortSignal): Promise<void> {
  const c = engine.containers.store.resolve(idOrName);
  const sample = sampler(c);
  let prev = await sample();
  send(prev);
  while (!signal.aborted && c.State.Running) {
    await pause(1000);
    if (signal.aborted) break;
    const cur = await sample();
    send({ ...cur, preread: prev.read, precpu_stats: prev.cpu_stats });
    prev = cur;
  }
}
