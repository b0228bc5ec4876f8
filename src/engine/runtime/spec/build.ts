// Builds the OCI runtime config.json for one container the way dockerd does
// (moby daemon/oci_linux.go createSpec over daemon/pkg/oci/defaults.go),
// adapted to what this host can actually grant: capabilities are intersected
// with the daemon's bounding set and rlimits are clamped to its hard limits.
//
// Differences from dockerd:
//  - the default seccomp profile is a file (DEFAULT_SECCOMP_PROFILE_PATH,
//    Debian's containers-common one unless BuildOptions says otherwise), not
//    moby's built-in profile, and that file is noticeably more permissive
//    (see seccomp.ts);
//  - no AppArmor/SELinux (none on this host); "label=" / "apparmor=" security
//    options are accepted and ignored;
//  - no default sysctls (dockerd adds net.ipv4.ping_group_range and
//    net.ipv4.ip_unprivileged_port_start for a private netns);
//  - no init (--init), hooks, or annotations.
import type { ResourceUpdate } from '../runtime.js';
import os from 'node:os';
import path from 'node:path';
import { hostCapabilities, tweakCapabilities } from './caps.js';
import { SpecError } from './errors.js';
import { hostCpuset, hostDevices, isCgroup2, swapLimitSupported, thermalThrottlePaths } from './host.js';
import { clearReadOnly, DEFAULT_SHM_SIZE, defaultMounts, mountDepth, tmpfsMount } from './mounts.js';
import { buildRlimits, readHostRlimits } from './rlimits.js';
import { DEFAULT_SECCOMP_PROFILE_PATH, loadProfileFile, parseProfile, setupSeccomp } from './seccomp.js';
import type {
  LinuxCPU,
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxIDMapping,
  LinuxMemory,
  LinuxNamespace,
  LinuxResources,
  Mount,
  Spec,
} from './types.js';
import { resolveInRoot, resolveUser } from './user.js';
import { additionalGroups, deviceCgroupRules, mappedDevices, type DeviceMapping } from './devices.js';
import { readFile } from 'node:fs/promises';

export { SpecError } from './errors.js';
export { specToJSON } from './json.js';
export { DEFAULT_SECCOMP_PROFILE_PATH } from './seccomp.js';
export { DEFAULT_CAPABILITIES } from './caps.js';
export { RLIM_INFINITY } from './rlimits.js';

export interface SpecInput {
  rootfs: string; // absolute path of the mounted rootfs
  args: string[]; // entrypoint+cmd already combined, non-empty
  env: string[]; // image env merged with container env (KEY=VAL; a bare KEY unsets)
  cwd: string; // "" means "/"
  user: string; // docker -u syntax: "", "name", "uid", "name:group", "uid:gid"
  hostname: string;
  domainname?: string;
  tty: boolean;
  /** Not part of config.json (stdin is conmon's business); accepted for symmetry with the API. */
  openStdin?: boolean;
  readonlyRootfs?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[]; // docker names: "NET_ADMIN" or "CAP_NET_ADMIN", "ALL"
  securityOpt?: string[]; // "no-new-privileges[:bool]", "seccomp=unconfined|builtin|<profile JSON>"
  shmSize?: number; // bytes, default 64 MiB
  tmpfs?: Record<string, string>; // path -> options "rw,size=64m"
  ulimits?: { Name: string; Soft: number; Hard: number }[];
  /** Not part of config.json: whoever writes the container's /etc/hosts uses them. */
  extraHosts?: string[];
  /**
   * Extra mounts (volumes, and /etc/hosts, /etc/resolv.conf, /etc/hostname prepared by the caller).
   * type defaults to "bind"; options default to dockerd's for its network files:
   * ["rbind", "rprivate"], plus "ro" when the rootfs is read-only.
   */
  mounts?: { source: string; destination: string; type?: string; options?: string[] }[];
  cgroupsPath: string; // e.g. "/berth/<id>" (cgroupfs style)
  /** `--device`: host devices made in the container, each allowed by a cgroup rule (./devices.ts). */
  devices?: DeviceMapping[];
  /** `--device-cgroup-rule`: "c 1:3 mr", after the default rules. */
  deviceCgroupRules?: string[];
  /** `--group-add`: extra groups, by number or by name in the container's /etc/group. */
  groupAdd?: string[];
  /** The limits `docker update` can change later (../runtime.ts), less the reservation, plus the OOM killer switch. */
  resources?: Omit<ResourceUpdate, 'memoryReservation'> & { oomKillDisable?: boolean };
  /** A private user namespace with these mappings (dockerd --userns-remap, unless UsernsMode is "host"). */
  userns?: { uidMappings: LinuxIDMapping[]; gidMappings: LinuxIDMapping[] };
  namespaces?: {
    network?: string; // path of a netns to join; "host" = the host's; undefined = a new one
    ipc?: 'private' | 'host';
    pid?: 'private' | 'host';
    uts?: 'private' | 'host';
  };
  /** Not part of config.json: the engine sends it with `runc kill` on stop. */
  stopSignal?: string;
}

/** Daemon-level settings (what dockerd takes as flags), not per-container input. */
export interface BuildOptions {
  /** Profile used when the container does not bring its own (dockerd --seccomp-profile). */
  seccompProfilePath?: string;
}

export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** moby defaultLinuxMaskedPaths, before the per-CPU thermal_throttle entries. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/**
 * moby's device cgroup rules: deny everything, allow the basic char devices,
 * and deny /dev/fuse explicitly. runc appends its own allow-list after these
 * (c *:* m, b *:* m, full 1:7, pts 136:*, ptmx 5:2, tun 10:200), which is
 * what makes TTYs work; dockerd relies on that too.
 */
function defaultDeviceRules(): LinuxDeviceCgroup[] {
  const allow = (major: number, minor: number): LinuxDeviceCgroup => ({
    allow: true,
    type: 'c',
    major,
    minor,
    access: 'rwm',
  });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), // zero
    allow(1, 3), // null
    allow(1, 9), // urandom
    allow(1, 8), // random
    allow(5, 0), // tty
    allow(5, 1), // console
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // fuse
  ];
}

/** Go strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

interface SecurityOptions {
  noNewPrivileges: boolean;
  /** undefined/"" = daemon default profile; "builtin" = the same; "unconfined"; otherwise profile JSON. */
  seccomp?: string;
}

/** moby daemon/create.go parseSecurityOpt, minus labels and AppArmor, which this host lacks. */
function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // label disable
    let sep = -1;
    if (opt.includes('=')) sep = opt.indexOf('=');
    else if (opt.includes(':')) sep = opt.indexOf(':'); // the deprecated "key:value" form
    if (sep < 0) throw new SpecError('invalid', `invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const key = opt.slice(0, sep);
    const value = opt.slice(sep + 1);
    switch (key) {
      case 'label':
      case 'apparmor':
        break;
      case 'seccomp':
        out.seccomp = value;
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw new SpecError('invalid', `invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.noNewPrivileges = b;
        break;
      }
      default:
        throw new SpecError('invalid', `invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}

/**
 * moby ReplaceOrAppendEnvValues: overrides replace defaults with the same key
 * in place, new keys are appended, and a bare "KEY" removes KEY.
 */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const env: (string | null)[] = [...defaults];
  const index = new Map<string, number>();
  env.forEach((e, i) => index.set((e as string).split('=', 1)[0], i));
  for (const value of overrides) {
    const eq = value.indexOf('=');
    if (eq < 0) {
      const i = index.get(value);
      if (i !== undefined) env[i] = null;
      continue;
    }
    const i = index.get(value.slice(0, eq));
    if (i !== undefined) {
      env[i] = value;
    } else {
      // Unlike moby, remember appended keys so a later duplicate replaces
      // instead of producing two entries (getenv would return the first).
      index.set(value.slice(0, eq), env.length);
      env.push(value);
    }
  }
  return env.filter((e): e is string => e !== null);
}

const LINUX_MIN_MEMORY = 6 * 1024 * 1024;

/** moby's parsers.ParseUintList: "0-2,4" → {0,1,2,4}; null when malformed. */
function parseUintList(v: string): Set<number> | null {
  const out = new Set<number>();
  for (const part of v.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return null;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

/** moby sysInfo.IsCpusetCpusAvailable / IsCpusetMemsAvailable, with its messages. */
async function checkCpuset(requested: string | undefined, what: 'cpus' | 'mems'): Promise<void> {
  if (!requested) return;
  const want = parseUintList(requested);
  if (!want) throw new SpecError('invalid', `Invalid value ${requested} for cpuset ${what}: invalid format: ${requested}`);
  const available = await hostCpuset(what);
  const have = parseUintList(available);
  if (!have) return; // the host's own list is unreadable: leave it to the kernel
  for (const n of want) {
    if (!have.has(n)) {
      throw new SpecError(
        'invalid',
        what === 'cpus'
          ? `Requested CPUs are not available - requested ${requested}, available: ${available}`
          : `Requested memory nodes are not available - requested ${requested}, available: ${available}`,
      );
    }
  }
}

/**
 * The checks dockerd makes on a container's resources when it is created or
 * updated (verifyPlatformContainerResources), so that a bad limit is refused
 * then rather than at start.
 */
export async function checkResources(r: NonNullable<SpecInput['resources']>): Promise<void> {
  await buildResources(r);
  await checkCpuset(r.cpusetCpus, 'cpus');
  await checkCpuset(r.cpusetMems, 'mems');
}

/** moby verifyPlatformContainerResources + getMemoryResources/getCPUResources/getPidsLimit. */
async function buildResources(
  r: NonNullable<SpecInput['resources']>,
): Promise<Pick<LinuxResources, 'memory' | 'cpu' | 'pids'>> {
  const out: Pick<LinuxResources, 'memory' | 'cpu' | 'pids'> = {};
  const memory = r.memory ?? 0;
  let swap = r.memorySwap ?? 0;
  if (memory !== 0 && memory < LINUX_MIN_MEMORY) {
    throw new SpecError('invalid', 'Minimum memory limit allowed is 6MB');
  }
  if (memory === 0 && swap > 0) {
    throw new SpecError('invalid', 'You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (memory > 0 && swap > 0 && swap < memory) {
    throw new SpecError('invalid', 'Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  // dockerd's adaptContainerSettings: swap defaults to twice the memory limit.
  if (memory > 0 && swap === 0) swap = memory * 2;
  const mem: LinuxMemory = {};
  if (memory > 0) mem.limit = memory;
  if (swap !== 0 && memory > 0 && (await swapLimitSupported())) mem.swap = swap;
  // cgroup v2 has no OOM-killer switch; dockerd discards the option there with a warning.
  if (r.oomKillDisable && !(await isCgroup2())) mem.disableOOMKiller = true;
  if (Object.keys(mem).length > 0) out.memory = mem;

  const cpu: LinuxCPU = {};
  const shares = r.cpuShares ?? 0;
  if (shares < 0) throw new SpecError('invalid', 'shares: invalid argument');
  if (shares > 0) cpu.shares = shares;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  const nano = r.nanoCpus ?? 0;
  const period = r.cpuPeriod ?? 0;
  const quota = r.cpuQuota ?? 0;
  if (nano > 0 && period > 0) {
    throw new SpecError('invalid', 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (nano > 0 && quota > 0) {
    throw new SpecError('invalid', 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  if (nano !== 0) {
    const ncpu = os.availableParallelism();
    if (nano < 1e9 / 100 || nano > ncpu * 1e9) {
      throw new SpecError(
        'invalid',
        `Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`,
      );
    }
    cpu.period = 100000; // 100ms, in µs (sched-bwc)
    cpu.quota = Math.trunc((nano * 100000) / 1e9);
  }
  if (period !== 0) {
    if (period < 1000 || period > 1000000) {
      throw new SpecError('invalid', 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
    }
    cpu.period = period;
  }
  if (quota !== 0) {
    if (quota > 0 && quota < 1000) {
      throw new SpecError('invalid', 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
    }
    cpu.quota = quota;
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (r.pidsLimit !== undefined) {
    // The API lets 0 and negatives mean "unlimited"; runc wants -1 for that.
    out.pids = { limit: r.pidsLimit > 0 ? r.pidsLimit : -1 };
  }
  return out;
}

/** The user mounts, tmpfs mounts and IPC mounts, in the order runc must apply them. */
function buildUserMounts(input: SpecInput): Mount[] {
  const ms: Mount[] = [];
  for (const m of input.mounts ?? []) {
    if (!path.posix.isAbsolute(m.destination)) {
      throw new SpecError('invalid', `invalid mount config: mount path must be absolute: ${m.destination}`);
    }
    const type = m.type ?? 'bind';
    let options = m.options;
    if (!options) {
      options = type === 'bind' ? ['rbind', ...(input.readonlyRootfs ? ['ro'] : []), 'rprivate'] : [];
    }
    ms.push({ destination: m.destination, type, source: m.source, options: [...options] });
  }
  for (const [dest, data] of Object.entries(input.tmpfs ?? {})) {
    ms.push(tmpfsMount(dest, data));
  }
  const has = (dest: string): boolean => ms.some((m) => path.posix.normalize(m.destination) === dest);
  if (input.namespaces?.ipc === 'host' && !has('/dev/shm')) {
    // --ipc=host shares the host's /dev/shm too (moby setupIpcDirs / IpcMounts).
    ms.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  }
  const seen = new Set<string>();
  for (const m of ms) {
    const d = path.posix.normalize(m.destination).replace(/(.)\/$/, '$1');
    if (seen.has(d)) throw new SpecError('invalid', `Duplicate mount point: ${d}`);
    seen.add(d);
  }
  // Stable sort by depth so /data is mounted before /data/sub.
  return ms
    .map((m, i) => ({ m, i, d: mountDepth(m.destination) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.m);
}

/** moby WithMounts: defaults minus the overridden ones, /dev/shm sized, then the user's. */
function buildMounts(input: SpecInput, userMounts: Mount[], shmSize: number): Mount[] {
  const userDests = new Set(userMounts.map((m) => path.posix.normalize(m.destination)));
  const mountDev = userDests.has('/dev');
  const out: Mount[] = [];
  for (const m of defaultMounts()) {
    if (userDests.has(m.destination)) continue;
    if (mountDev && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') m.options = [...(m.options ?? []), `size=${shmSize}`];
    out.push(m);
  }
  if (input.readonlyRootfs) {
    const writable = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);
    for (const m of out) {
      if (!writable.has(m.destination) && !(m.options ?? []).includes('ro')) {
        m.options = [...(m.options ?? []), 'ro'];
      }
    }
  }
  if (input.privileged) {
    for (const m of out) {
      if (m.destination === '/sys' || m.type === 'cgroup') clearReadOnly(m);
    }
  } else if (input.userns) {
    // moby: a read-only remount of the cgroup mount fails inside a user namespace.
    for (const m of out) if (m.type === 'cgroup') clearReadOnly(m);
    // sysfs can only be mounted from a user namespace that owns the network
    // namespace. One joined by path (container:<name>) is not ours: bind the
    // host's /sys read-only instead, as podman does for a network namespace
    // it does not own. (Bridge containers in a user namespace get a namespace
    // runc makes, wired afterwards: see NetworkService.attach.)
    const netnsPath = input.namespaces?.network;
    if (netnsPath && netnsPath !== 'host') {
      for (const m of out) {
        if (m.type === 'sysfs') Object.assign(m, { type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
      }
    }
  }
  return [...out, ...userMounts];
}

/**
 * Build the OCI spec for `input`. Reads the rootfs's /etc/passwd and
 * /etc/group, /proc/self/status (bounding set), /proc/self/limits, the
 * seccomp profile (cached), and for --privileged the host's /dev.
 * Throws SpecError for requests dockerd would reject.
 */
export async function buildSpec(input: SpecInput, opts: BuildOptions = {}): Promise<Spec> {
  if (!path.posix.isAbsolute(input.rootfs)) throw new SpecError('invalid', `rootfs must be an absolute path: ${input.rootfs}`);
  if (input.args.length === 0) throw new SpecError('invalid', 'No command specified');
  const cwd = input.cwd === '' ? '/' : input.cwd;
  if (!path.posix.isAbsolute(cwd)) {
    throw new SpecError('invalid', `the working directory '${input.cwd}' is invalid, it needs to be an absolute path`);
  }
  const shmSize = input.shmSize ?? DEFAULT_SHM_SIZE;
  if (shmSize < 0) throw new SpecError('invalid', 'SHM size can not be less than 0');
  const privileged = input.privileged ?? false;
  const security = parseSecurityOpts(input.securityOpt ?? []);
  const nsOpt = input.namespaces ?? {};

  const [user, hostCaps, cgroup2] = await Promise.all([
    resolveUser(input.rootfs, input.user),
    hostCapabilities(),
    isCgroup2(),
  ]);

  const caps = tweakCapabilities(input.capAdd ?? [], input.capDrop ?? [], privileged, hostCaps);
  // moby SetCapabilities: a non-root process gets only the bounding set, as
  // execve would leave it; root gets bounding = permitted = effective.
  const capabilities =
    user.uid === 0 ? { bounding: caps, effective: [...caps], permitted: [...caps] } : { bounding: caps };

  const envDefaults = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${input.hostname}`];
  if (input.tty) envDefaults.push('TERM=xterm');
  const env = replaceOrAppendEnv(envDefaults, input.env);

  const namespaces: LinuxNamespace[] = [{ type: 'mount' }];
  // "host": the host's network namespace (none of our own); a path: join it; undefined: a new one.
  if (nsOpt.network !== 'host') namespaces.push(nsOpt.network ? { type: 'network', path: nsOpt.network } : { type: 'network' });
  if (nsOpt.uts !== 'host') namespaces.push({ type: 'uts' });
  if (nsOpt.pid !== 'host') namespaces.push({ type: 'pid' });
  if (nsOpt.ipc !== 'host') namespaces.push({ type: 'ipc' });
  // dockerd's default cgroupns mode: private on cgroup v2, host on v1.
  if (cgroup2) namespaces.push({ type: 'cgroup' });
  if (input.userns) namespaces.push({ type: 'user' });

  const mounts = buildMounts(input, buildUserMounts(input), shmSize);

  let devices: LinuxDevice[] = [];
  let deviceRules: LinuxDeviceCgroup[];
  if (privileged) {
    devices = await hostDevices();
    deviceRules = [{ allow: true, access: 'rwm' }];
  } else {
    deviceRules = defaultDeviceRules();
  }
  // moby WithDevices: the user's devices (privileged: already all of them) and rules after the defaults.
  const mapped = await mappedDevices(input.devices ?? []);
  if (!privileged) devices.push(...mapped.devices);
  deviceRules.push(...mapped.rules, ...deviceCgroupRules(input.deviceCgroupRules ?? []));
  if (input.groupAdd?.length) {
    const groupFile = await readFile(await resolveInRoot(input.rootfs, '/etc/group'), 'utf8').catch(() => '');
    user.additionalGids = [...(user.additionalGids ?? []), ...additionalGroups(input.groupAdd, groupFile)];
  }
  const resources: LinuxResources = { devices: deviceRules, ...(await buildResources(input.resources ?? {})) };

  const spec: Spec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: input.tty,
      user,
      args: [...input.args],
      env,
      cwd,
      capabilities,
      noNewPrivileges: security.noNewPrivileges,
    },
    root: input.readonlyRootfs ? { path: input.rootfs, readonly: true } : { path: input.rootfs },
    // runc refuses a hostname without a private UTS namespace (moby clears it too).
    ...(nsOpt.uts !== 'host' && input.hostname !== '' ? { hostname: input.hostname } : {}),
    mounts,
    linux: {
      namespaces,
      ...(input.userns ? { uidMappings: input.userns.uidMappings.map((m) => ({ ...m })), gidMappings: input.userns.gidMappings.map((m) => ({ ...m })) } : {}),
      devices,
      cgroupsPath: input.cgroupsPath,
      resources,
    },
  };
  // runc 1.1 predates the spec's "domainname"; kernel.domainname is what dockerd uses.
  if (input.domainname) spec.linux.sysctl = { 'kernel.domainname': input.domainname };

  if (input.ulimits && input.ulimits.length > 0) {
    spec.process.rlimits = buildRlimits(input.ulimits, await readHostRlimits());
  }

  if (!privileged) {
    spec.linux.maskedPaths = [...DEFAULT_MASKED_PATHS, ...(await thermalThrottlePaths())];
    spec.linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }

  // moby WithSeccomp: unconfined and privileged mean no filter at all.
  if (!privileged && security.seccomp !== 'unconfined') {
    const custom = security.seccomp !== undefined && security.seccomp !== '' && security.seccomp !== 'builtin';
    const profile = custom
      ? parseProfile(security.seccomp as string)
      : await loadProfileFile(opts.seccompProfilePath ?? DEFAULT_SECCOMP_PROFILE_PATH);
    const seccomp = setupSeccomp(profile, { capabilities: caps });
    if (seccomp) spec.linux.seccomp = seccomp;
  }

  return spec;
}
