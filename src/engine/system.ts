/**
 * @module engine/system
 * What `docker version`, `docker info` and `docker system df` report about
 * the daemon as a whole: versions of berth and of the tools it runs, counts
 * of containers and images, host facts, and disk use across images,
 * containers and volumes. Composed from the engine's services; the HTTP
 * handlers only send the result.
 */
import os from 'node:os';
import { promises as fsp } from 'node:fs';
import { API_VERSION, BERTH_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../common/version.js';
import type { ContainerSummary, SystemDataUsageResponse, SystemInfo, SystemVersion } from '../common/api/index.js';
import { run } from '../util/exec.js';
import type { Engine } from './engine.js';
import { swarmInfo } from './cluster.js';

/** What the daemon knows about itself that the engine does not: its ID and whether it runs with --debug. */
export interface DaemonIdentity {
  debug: boolean;
  id: string;
}

interface ToolVersions {
  runc: string;
  runcCommit: string;
  conmon: string;
}

async function toolVersion(cmd: string, args: string[], re: RegExp): Promise<string> {
  const r = await run(cmd, args, { allowFailure: true }).catch(() => undefined);
  return r ? (re.exec(r.stdout)?.[1] ?? '') : '';
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** The runtime's tools are asked once per engine: their versions do not change under a running daemon. */
const toolVersionsByEngine = new WeakMap<Engine, Promise<ToolVersions>>();

function toolVersions(engine: Engine): Promise<ToolVersions> {
  let v = toolVersionsByEngine.get(engine);
  if (!v) {
    v = (async () => ({
      runc: await toolVersion(engine.runtime.runc, ['--version'], /runc version (\S+)/),
      runcCommit: await toolVersion(engine.runtime.runc, ['--version'], /commit: (\S+)/),
      conmon: await toolVersion(engine.runtime.conmon, ['--version'], /conmon version (\S+)/),
    }))();
    toolVersionsByEngine.set(engine, v);
  }
  return v;
}

/** GET /version. */
export async function systemVersion(engine: Engine): Promise<SystemVersion> {
  const t = await toolVersions(engine);
  const buildTime = engine.startedAt.toISOString();
  return {
    Platform: { Name: `berth ${BERTH_VERSION}` },
    Components: [
      {
        Name: 'Engine',
        Version: ENGINE_VERSION,
        Details: {
          ApiVersion: API_VERSION,
          Arch: goArch(),
          BuildTime: buildTime,
          Experimental: 'false',
          GitCommit: `berth-${BERTH_VERSION}`,
          GoVersion: `node${process.versions.node}`,
          KernelVersion: os.release(),
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
        },
      },
      { Name: 'runc', Version: t.runc, Details: { GitCommit: t.runcCommit } },
      { Name: 'conmon', Version: t.conmon, Details: { GitCommit: '' } },
    ],
    Version: ENGINE_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: `berth-${BERTH_VERSION}`,
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: os.release(),
    BuildTime: buildTime,
  };
}

/** GET /info. */
export async function systemInfo(engine: Engine, daemon: DaemonIdentity): Promise<SystemInfo> {
  const t = await toolVersions(engine);
  const cs = engine.containers.store.list();
  const running = cs.filter((c) => c.State.Running && !c.State.Paused).length;
  const paused = cs.filter((c) => c.State.Paused).length;
  const osRelease = await fsp.readFile('/etc/os-release', 'utf8').catch(() => '');
  const prettyName = /PRETTY_NAME="?([^"\n]*)"?/.exec(osRelease)?.[1] ?? 'Linux';
  const versionId = /VERSION_ID="?([^"\n]*)"?/.exec(osRelease)?.[1] ?? '';
  const cgroupV2 = await fsp.access('/sys/fs/cgroup/cgroup.controllers').then(() => true, () => false);
  return {
    ID: daemon.id,
    Containers: cs.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: cs.length - running - paused,
    Images: engine.images.store.list().length,
    Driver: 'overlay2',
    DriverStatus: [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
      ['Using metacopy', 'false'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', 'false'],
    ],
    Plugins: { Volume: ['local'], Network: ['null'], Authorization: null, Log: ['json-file', 'local'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: false,
    Debug: daemon.debug,
    NFd: await fsp.readdir('/proc/self/fd').then((f) => f.length, () => 0),
    OomKillDisable: !cgroupV2,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: engine.opts.logDefaults?.Type ?? 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupV2 ? '2' : '1',
    NEventsListener: 0,
    KernelVersion: os.release(),
    OperatingSystem: prettyName,
    OSVersion: versionId,
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'],
      IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } },
      Mirrors: null,
    },
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    GenericResources: null,
    DockerRootDir: engine.opts.dataRoot,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: ENGINE_VERSION,
    Runtimes: { runc: { path: engine.runtime.runc } },
    DefaultRuntime: 'runc',
    Swarm: swarmInfo(),
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: t.runcCommit },
    InitCommit: { ID: '' },
    SecurityOptions: ['name=seccomp,profile=builtin', ...(engine.opts.idMap ? ['name=userns'] : [])],
    CDISpecDirs: [],
    Warnings: [],
  };
}

/** GET /system/df: layers, images (with their container counts), containers with sizes, volumes with usage. */
export async function diskUsage(engine: Engine): Promise<SystemDataUsageResponse> {
  const containers = (await engine.containers.list({ all: true, size: true })) as ContainerSummary[];
  return {
    LayersSize: await engine.images.layersSize(),
    Images: (await engine.images.list({ all: true, containers: true })) as SystemDataUsageResponse['Images'],
    Containers: containers,
    Volumes: await engine.volumes.dfList(),
    BuildCache: (await engine.builder.cache.usage(engine.images.heldLayers())) as SystemDataUsageResponse['BuildCache'],
  };
}
