/**
 * @module engine/observe
 * `docker top` and `docker stats`: looking at a container's processes and
 * resource use. Samples come from container/stats.ts; this module decides
 * when to take them and which earlier sample a CPU figure is measured against
 * (one kept from an earlier request, or the container's start; one a second
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

interface CpuSample {
  read: string;
  cpu_stats: Record<string, unknown>;
}

/**
 * The samples taken of each running container, so that a one-shot request
 * can pair its sample with an earlier one instead of sampling twice a second
 * apart (dockerd's stream=false waits for two ticks of its collector, ~2 s).
 * Keyed by container ID and StartedAt: a restarted container's cgroup counts
 * from zero again. An earlier sample counts only if it is at least
 * MIN_WINDOW_MS older, or the deltas are a few clock ticks of /proc/stat and
 * the CPU % noise.
 */
const MIN_WINDOW_MS = 500;
const history = new WeakMap<Engine, Map<string, { key: string; samples: CpuSample[] }>>();

function samplesOf(engine: Engine, c: ContainerRecord): CpuSample[] {
  let byId = history.get(engine);
  if (!byId) history.set(engine, (byId = new Map()));
  // Containers that are gone or no longer running drop out of the table as it is touched.
  if (byId.size > 64) {
    for (const [id, h] of byId) {
      const o = engine.containers.store.get(id);
      if (!o?.State.Running || o.State.StartedAt !== h.key) byId.delete(id);
    }
  }
  let h = byId.get(c.Id);
  if (!h || h.key !== c.State.StartedAt) byId.set(c.Id, (h = { key: c.State.StartedAt, samples: [] }));
  return h.samples;
}

/**
 * The sample to report as precpu_stats beside `cur`: the newest kept sample
 * at least MIN_WINDOW_MS older; failing that, the container's start (no CPU
 * used yet, and the host's CPU time then: all online CPUs for the time
 * since, which is what the seven fields of /proc/stat add up to), so the
 * first request reports the average since start. Keeps `cur` for the next one.
 */
function previousFor(engine: Engine, c: ContainerRecord, cur: StatsDoc): CpuSample {
  const samples = samplesOf(engine, c);
  const now = Date.parse(cur.read as string);
  let prev: CpuSample | undefined;
  for (const s of samples) if (now - Date.parse(s.read) >= MIN_WINDOW_MS) prev = s;
  // Keep the newest sample old enough to pair with, and those younger (they will be, soon).
  samples.splice(0, Math.max(0, prev ? samples.indexOf(prev) : 0));
  samples.push({ read: cur.read as string, cpu_stats: cur.cpu_stats as Record<string, unknown> });
  if (samples.length > 8) samples.splice(0, samples.length - 8);
  if (prev) return prev;
  const cpu = cur.cpu_stats as { system_cpu_usage: number; online_cpus: number; throttling_data: unknown };
  const sinceStartNs = Math.max(0, now - Date.parse(c.State.StartedAt)) * 1e6;
  return {
    read: c.State.StartedAt,
    cpu_stats: {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      system_cpu_usage: Math.max(0, cpu.system_cpu_usage - sinceStartNs * cpu.online_cpus),
      online_cpus: cpu.online_cpus,
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
  };
}

/**
 * GET /containers/{id}/stats?stream=false: one document. Unless `oneShot`,
 * with precpu_stats from a sample kept from an earlier request (or the
 * container's start), so the client can compute CPU % at once.
 */
export async function containerStatsOnce(engine: Engine, idOrName: string, oneShot: boolean): Promise<StatsDoc> {
  const c = engine.containers.store.resolve(idOrName);
  const cur = await sampler(c)();
  if (oneShot || !c.State.Running) return cur;
  const prev = previousFor(engine, c, cur);
  return { ...cur, preread: prev.read, precpu_stats: prev.cpu_stats };
}

/**
 * GET /containers/{id}/stats (streaming): a sample at once (paired like a
 * one-shot request's, so the first line already has a CPU figure), then one
 * a second with the previous one as precpu_stats, while the container runs
 * and `signal` has not aborted. An unknown container throws before anything is sent.
 */
export async function watchContainerStats(engine: Engine, idOrName: string, send: (doc: StatsDoc) => void, signal: AbortSignal): Promise<void> {
  const c = engine.containers.store.resolve(idOrName);
  const sample = sampler(c);
  let prev = await sample();
  if (c.State.Running) {
    const p = previousFor(engine, c, prev);
    send({ ...prev, preread: p.read, precpu_stats: p.cpu_stats });
  } else {
    send(prev);
  }
  while (!signal.aborted && c.State.Running) {
    await pause(1000);
    if (signal.aborted) break;
    const cur = await sample();
    send({ ...cur, preread: prev.read, precpu_stats: prev.cpu_stats });
    prev = cur;
  }
}
