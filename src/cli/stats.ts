/**
 * What `docker stats` shows for one container, from the daemon's stats
 * documents: docker/cli's calculations (stats_helpers.go: CPU % from the
 * delta to precpu_stats, memory without the inactive page cache, network
 * and block I/O totals) and its columns (formatter_stats.go).
 */
import type { ContainerStatsResponse } from '../common/api/index.js';
import { formatFloat } from '../common/gofmt.js';
import { bytesSize, imageSize } from '../common/units.js';
import { shortId } from './format/container.js';

/** docker's StatsEntry (Linux fields). */
export interface StatsEntry {
  /** The name or ID the user gave, or the short ID when listing all. */
  Container: string;
  Name: string;
  ID: string;
  CPUPercentage: number;
  Memory: number;
  MemoryLimit: number;
  MemoryPercentage: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
  PidsCurrent: number;
  /** No valid sample (yet): the columns show "--". */
  IsInvalid: boolean;
}

export const defaultStatsTableFormat = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const statsHeaders: Record<string, string> = {
  Container: 'CONTAINER',
  Name: 'NAME',
  ID: 'CONTAINER ID',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

export function emptyEntry(container: string): StatsEntry {
  return {
    Container: container,
    Name: '',
    ID: '',
    CPUPercentage: 0,
    Memory: 0,
    MemoryLimit: 0,
    MemoryPercentage: 0,
    NetworkRx: 0,
    NetworkTx: 0,
    BlockRead: 0,
    BlockWrite: 0,
    PidsCurrent: 0,
    IsInvalid: false,
  };
}

/** calculateCPUPercentUnix: the container's share of the host's CPU time between two samples, times the CPUs. */
function cpuPercent(v: ContainerStatsResponse): number {
  const cur = v.cpu_stats ?? {};
  const pre = v.precpu_stats ?? {};
  const cpuDelta = (cur.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cur.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const online = cur.online_cpus || (cur.cpu_usage?.percpu_usage?.length ?? 0);
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** calculateMemUsageUnixNoCache: usage minus inactive file pages (cgroup v1's total_inactive_file, v2's inactive_file). */
function memUsageNoCache(mem: ContainerStatsResponse['memory_stats']): number {
  const usage = mem?.usage ?? 0;
  const stats = mem?.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats.inactive_file ?? 0;
  if (v2 < usage) return usage - v2;
  return usage;
}

function blockIO(v: ContainerStatsResponse): [number, number] {
  let read = 0;
  let write = 0;
  for (const e of v.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op?.[0];
    if (op === 'r' || op === 'R') read += e.value;
    else if (op === 'w' || op === 'W') write += e.value;
  }
  return [read, write];
}

function network(v: ContainerStatsResponse): [number, number] {
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(v.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return [rx, tx];
}

/** One stats document as docker's collect() turns it into a StatsEntry. */
export function statsEntry(container: string, v: ContainerStatsResponse): StatsEntry {
  const memory = memUsageNoCache(v.memory_stats);
  const limit = v.memory_stats?.limit ?? 0;
  const [netRx, netTx] = network(v);
  const [blkRead, blkWrite] = blockIO(v);
  return {
    Container: container,
    Name: v.name ?? '',
    ID: v.id ?? '',
    CPUPercentage: cpuPercent(v),
    Memory: memory,
    MemoryLimit: limit,
    MemoryPercentage: limit !== 0 ? (memory / limit) * 100 : 0,
    NetworkRx: netRx,
    NetworkTx: netTx,
    BlockRead: blkRead,
    BlockWrite: blkWrite,
    PidsCurrent: v.pids_stats?.current ?? 0,
    IsInvalid: false,
  };
}

function percentage(v: number): string {
  return `${formatFloat(v, 'f', 2)}%`;
}

/** The statsContext fields a --format template sees, all strings. */
export function statsRow(s: StatsEntry, trunc: boolean): Record<string, string> {
  const invalid = s.IsInvalid;
  return {
    Container: s.Container,
    Name: s.Name.length > 1 ? s.Name.slice(1) : '--',
    ID: trunc ? shortId(s.ID) : s.ID,
    CPUPerc: invalid ? '--' : percentage(s.CPUPercentage),
    MemUsage: invalid ? '-- / --' : `${bytesSize(s.Memory)} / ${bytesSize(s.MemoryLimit)}`,
    MemPerc: invalid ? '--' : percentage(s.MemoryPercentage),
    NetIO: invalid ? '--' : `${imageSize(s.NetworkRx)} / ${imageSize(s.NetworkTx)}`,
    BlockIO: invalid ? '--' : `${imageSize(s.BlockRead)} / ${imageSize(s.BlockWrite)}`,
    PIDs: invalid ? '--' : String(s.PidsCurrent),
  };
}
