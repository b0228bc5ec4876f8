/**
 * Container resource usage for `docker stats` and processes for `docker top`,
 * read from the container's cgroups (v1: one hierarchy per controller under
 * /sys/fs/cgroup/<ctrl>/berth/<id>; v2: /sys/fs/cgroup/berth/<id>) and /proc,
 * in the JSON shape dockerd sends.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { run } from '../../util/exec.js';
import { invalid } from '../errors.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
const CLK_TCK = 100; // USER_HZ on Linux: /proc/stat counts in 1/100 s

/**
 * A cgroup or /proc file, read synchronously: the kernel makes these few
 * hundred bytes on the read, so the call takes microseconds, while an async
 * readFile is four thread-pool round trips (open, stat, read, close). A
 * sample reads a dozen of them and `docker stats` on 100 containers takes
 * 100 samples a second: the round trips were most of berthd's CPU then.
 */
async function readText(file: string): Promise<string | undefined> {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNum(file: string): Promise<number | undefined> {
  const t = (await readText(file))?.trim();
  if (t === undefined || t === '' || t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

let v2: Promise<boolean> | undefined;
function isCgroupV2(): Promise<boolean> {
  v2 ??= fsp.access(`${CGROUP_ROOT}/cgroup.controllers`).then(() => true, () => false);
  return v2;
}

/**
 * Host CPU time in nanoseconds (dockerd's system_cpu_usage: the first seven
 * fields of /proc/stat's cpu line) and the number of online CPUs (its cpuN
 * lines). One read serves every container sampled within the same few
 * milliseconds: streaming stats for many containers wake together once a second.
 */
interface HostCpu { systemNs: number; online: number }
let hostCpuCache: { at: number; value: Promise<HostCpu> } | undefined;
function hostCpu(): Promise<HostCpu> {
  const now = performance.now();
  if (hostCpuCache && now - hostCpuCache.at < 20) return hostCpuCache.value;
  const value = readText('/proc/stat').then((text) => {
    const lines = (text ?? '').split('\n');
    const ticks = (lines[0] ?? '').trim().split(/\s+/).slice(1, 8).reduce((n, x) => n + Number(x), 0);
    const online = lines.filter((l) => /^cpu\d/.test(l)).length || os.cpus().length;
    return { systemNs: (ticks * 1e9) / CLK_TCK, online };
  });
  hostCpuCache = { at: now, value };
  return value;
}

interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage: number;
  online_cpus: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

async function cpuStats(cgroup: (ctrl: string) => string, v2mode: boolean): Promise<CpuStats> {
  if (v2mode) {
    const [st, host] = await Promise.all([readText(`${cgroup('')}/cpu.stat`).then(keyValues), hostCpu()]);
    return {
      cpu_usage: { total_usage: (st.usage_usec ?? 0) * 1000, usage_in_kernelmode: (st.system_usec ?? 0) * 1000, usage_in_usermode: (st.user_usec ?? 0) * 1000 },
      system_cpu_usage: host.systemNs,
      online_cpus: host.online,
      throttling_data: { periods: st.nr_periods ?? 0, throttled_periods: st.nr_throttled ?? 0, throttled_time: (st.throttled_usec ?? 0) * 1000 },
    };
  }
  const acct = cgroup('cpuacct');
  // Independent files: read together, not one after another (a sample is on the request's path).
  const [percpuText, timesText, thrText, total, host] = await Promise.all([
    readText(`${acct}/cpuacct.usage_percpu`),
    readText(`${acct}/cpuacct.stat`),
    readText(`${cgroup('cpu')}/cpu.stat`),
    readNum(`${acct}/cpuacct.usage`),
    hostCpu(),
  ]);
  const percpu = (percpuText ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  const times = keyValues(timesText);
  const thr = keyValues(thrText);
  return {
    cpu_usage: {
      total_usage: total ?? 0,
      percpu_usage: percpu,
      usage_in_kernelmode: ((times.system ?? 0) * 1e9) / CLK_TCK,
      usage_in_usermode: ((times.user ?? 0) * 1e9) / CLK_TCK,
    },
    system_cpu_usage: host.systemNs,
    online_cpus: host.online,
    throttling_data: { periods: thr.nr_periods ?? 0, throttled_periods: thr.nr_throttled ?? 0, throttled_time: thr.throttled_time ?? 0 },
  };
}

function cgroupPaths(id: string, v2mode: boolean): (ctrl: string) => string {
  return (ctrl) => (v2mode ? `${CGROUP_ROOT}/berth/${id}` : `${CGROUP_ROOT}/${ctrl}/berth/${id}`);
}

/**
 * Per-interface counters of a network namespace, as dockerd's stats
 * `networks` (loopback left out), read from /proc/<pid>/net/dev of a
 * process inside it.
 */
export async function networkStats(pid: number): Promise<Record<string, Record<string, number>> | undefined> {
  const text = await readText(`/proc/${pid}/net/dev`);
  if (!text) return undefined;
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]!,
    };
  }
  return out;
}

/** One stats sample (without precpu_stats; the caller pairs samples). `netPid`: a process in the container's own network namespace, when it has one. */
export async function sampleStats(id: string, name: string, running: boolean, netPid?: number): Promise<Record<string, unknown>> {
  const v2mode = await isCgroupV2();
  const cg = cgroupPaths(id, v2mode);
  const read = new Date().toISOString();
  if (!running) {
    return { read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {}, blkio_stats: emptyBlkio(), num_procs: 0, storage_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } }, precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } }, memory_stats: {}, name, id };
  }
  const pids = v2mode ? cg('') : cg('pids');
  // Every file of a sample read at once: a one-shot sample is on the request's path.
  const [memory, pidsCurrent, pidsLimit, blkio, cpu, networks] = await Promise.all([
    memoryStats(cg, v2mode),
    readNum(`${pids}/pids.current`),
    readNum(`${pids}/pids.max`),
    blkioStats(cg, v2mode),
    cpuStats(cg, v2mode),
    netPid ? networkStats(netPid) : undefined,
  ]);
  return {
    read,
    preread: '0001-01-01T00:00:00Z',
    pids_stats: { current: pidsCurrent ?? 0, ...(pidsLimit !== undefined ? { limit: pidsLimit } : {}) },
    blkio_stats: blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: memory,
    name,
    id,
    ...(netPid ? { networks } : {}),
  };
}

async function memoryStats(cg: (ctrl: string) => string, v2mode: boolean): Promise<Record<string, unknown>> {
  if (v2mode) {
    const [st, usage, limit] = await Promise.all([readText(`${cg('')}/memory.stat`).then(keyValues), readNum(`${cg('')}/memory.current`), readNum(`${cg('')}/memory.max`)]);
    return { usage: usage ?? 0, stats: st, limit: limit ?? os.totalmem() };
  }
  const m = cg('memory');
  const [st, limit, usage, maxUsage, failcnt] = await Promise.all([
    readText(`${m}/memory.stat`).then(keyValues),
    readNum(`${m}/memory.limit_in_bytes`),
    readNum(`${m}/memory.usage_in_bytes`),
    readNum(`${m}/memory.max_usage_in_bytes`),
    readNum(`${m}/memory.failcnt`),
  ]);
  return {
    usage: usage ?? 0,
    max_usage: maxUsage ?? 0,
    stats: st,
    failcnt: failcnt ?? 0,
    // An unlimited cgroup reports a huge number; dockerd shows the host's memory instead.
    limit: Math.min(limit ?? os.totalmem(), os.totalmem()),
  };
}

function emptyBlkio() {
  return {
    io_service_bytes_recursive: null,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

async function blkioStats(cg: (ctrl: string) => string, v2mode: boolean) {
  const out: Record<string, unknown> = emptyBlkio();
  const entries: { major: number; minor: number; op: string; value: number }[] = [];
  if (v2mode) {
    for (const line of ((await readText(`${cg('')}/io.stat`)) ?? '').split('\n')) {
      const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
      if (!m) continue;
      const kv = Object.fromEntries(m[3]!.split(/\s+/).map((p) => p.split('=')));
      entries.push({ major: Number(m[1]), minor: Number(m[2]), op: 'read', value: Number(kv.rbytes ?? 0) });
      entries.push({ major: Number(m[1]), minor: Number(m[2]), op: 'write', value: Number(kv.wbytes ?? 0) });
    }
  } else {
    for (const line of ((await readText(`${cg('blkio')}/blkio.throttle.io_service_bytes`)) ?? '').split('\n')) {
      const m = /^(\d+):(\d+)\s+(\w+)\s+(\d+)$/.exec(line.trim());
      if (m) entries.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!.toLowerCase(), value: Number(m[4]) });
    }
  }
  out.io_service_bytes_recursive = entries.length ? entries : null;
  return out;
}

/** `docker top`: `ps` with the caller's options, limited to the container's processes (runc ps does the filtering). */
export async function top(runc: string, runcRoot: string, id: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  const r = await run(runc, [`--root=${runcRoot}`, 'ps', id, ...args], { allowFailure: true });
  if (r.code !== 0) throw invalid(`ps: ${r.stderr.trim() || r.stdout.trim()}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const processes = lines.slice(1).map((l) => {
    const fields = l.trim().split(/\s+/);
    // The last column (the command) may contain spaces: it takes the rest, as dockerd parses it.
    return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
  });
  return { Titles: titles, Processes: processes };
}
