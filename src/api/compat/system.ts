/** /_ping, /version, /info. */
import os from 'node:os';
import { promises as fsp } from 'node:fs';
import type { Engine } from '../../engine/engine.js';
import { API_VERSION, BERTH_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../../common/version.js';
import { run } from '../../util/exec.js';
import { sendJson } from '../context.js';
import type { Router } from '../router.js';

async function toolVersion(cmd: string, args: string[], re: RegExp): Promise<string> {
  const r = await run(cmd, args, { allowFailure: true }).catch(() => undefined);
  return r ? (re.exec(r.stdout)?.[1] ?? '') : '';
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

export function systemRoutes(router: Router, engine: Engine, daemon: { debug: boolean; id: string }): void {
  const ping = async (ctx: { req: { method?: string }; res: import('node:http').ServerResponse }) => {
    ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.res.setHeader('Pragma', 'no-cache');
    ctx.res.setHeader('Swarm', 'inactive');
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  router.on(['GET', 'HEAD'], '/_ping', ping);

  let versions: Promise<{ runc: string; runcCommit: string; conmon: string }> | undefined;
  const toolVersions = () =>
    (versions ??= (async () => ({
      runc: await toolVersion(engine.containers.runtime.runc, ['--version'], /runc version (\S+)/),
      runcCommit: await toolVersion(engine.containers.runtime.runc, ['--version'], /commit: (\S+)/),
      conmon: await toolVersion(engine.containers.runtime.conmon, ['--version'], /conmon version (\S+)/),
    }))());

  router.on('GET', '/version', async ({ res }) => {
    const t = await toolVersions();
    const buildTime = engine.startedAt.toISOString();
    sendJson(res, 200, {
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
    });
  });

  router.on('GET', '/info', async ({ res }) => {
    const t = await toolVersions();
    const cs = engine.containers.store.list();
    const running = cs.filter((c) => c.State.Running && !c.State.Paused).length;
    const paused = cs.filter((c) => c.State.Paused).length;
    const osRelease = await fsp.readFile('/etc/os-release', 'utf8').catch(() => '');
    const prettyName = /PRETTY_NAME="?([^"\n]*)"?/.exec(osRelease)?.[1] ?? 'Linux';
    const versionId = /VERSION_ID="?([^"\n]*)"?/.exec(osRelease)?.[1] ?? '';
    const cgroupV2 = await fsp.access('/sys/fs/cgroup/cgroup.controllers').then(() => true, () => false);
    sendJson(res, 200, {
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
      Plugins: { Volume: ['local'], Network: ['null'], Authorization: null, Log: ['json-file'] },
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
      LoggingDriver: 'json-file',
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
      Runtimes: { runc: { path: engine.containers.runtime.runc } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: t.runcCommit },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', ...(engine.opts.idMap ? ['name=userns'] : [])],
      CDISpecDirs: [],
      Warnings: [],
    });
  });
}
