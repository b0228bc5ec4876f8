/**
 * The engine: opens every store under the data root and wires the services
 * together. Both front ends reach the domain only through this object.
 */
import path from 'node:path';
import { LocalContentStore } from './content/store.js';
import { GarbageCollector } from './gc.js';
import { OverlaySnapshotter } from './snapshot/overlay.js';
import { ImageStore } from './image/store.js';
import { ImageService } from './image/service.js';
import { ContainerStore } from './container/store.js';
import { ContainerService } from './container/service.js';
import { followNetworkLinks } from './container/links.js';
import { ContainerRootfs } from './container/rootfs.js';
import { ConmonRuntime } from './runtime/conmon.js';
import { TaskRunner } from './runtime/task.js';
import { EventLog } from './events.js';
import { ExecService } from './exec/service.js';
import { HealthMonitor } from './container/health.js';
import { ExecSessions } from './exec/sessions.js';
import { imageUsers, volumeUsers } from './container/users.js';
import type { IdentityMapping } from './idmap.js';
import { BridgeNetwork, type BridgeOptions } from './network/bridge.js';
import { NetworkCatalogue } from './network/catalogue.js';
import { NetnsStore } from './network/netns.js';
import { NetworkService } from './network/service.js';
import { UserNetworks } from './network/networks.js';
import { DnsServer } from './network/dns.js';
import { VolumeService } from './volume/service.js';
import { VolumeStore } from './volume/store.js';
import { BuildCache } from './build/cache.js';
import { BuildService } from './build/builder.js';
import { DEFAULT_REGISTRY_OPTIONS, DistributionService } from './distribution/service.js';
import type { RegistryOptions } from './distribution/hosts.js';
import type { LogDefaults } from './logs/driver.js';
import { runCheck, type CheckOptions, type CheckTarget } from './check/check.js';
import type { CheckFinding, CheckReport } from '../common/api/check.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  seccompProfile?: string;
  /** `--userns-remap`: containers run in a user namespace with these mappings; `dataRoot` is the remapped one. */
  idMap?: IdentityMapping;
  /** The default bridge network; undefined (dockerd's `--bridge none`) leaves containers with loopback only. */
  bridge?: Omit<BridgeOptions, 'ipamDir'>;
  runc?: string;
  conmon?: string;
  /** daemon.json `log-driver`/`log-opts` (default json-file, no options). */
  logDefaults?: LogDefaults;
  /** Registry client settings (mirrors, insecure registries, certs.d, concurrency); dockerd's defaults otherwise. */
  registry?: Partial<RegistryOptions>;
}

export class Engine {
  private constructor(
    readonly opts: EngineOptions,
    readonly images: ImageService,
    readonly containers: ContainerService,
    readonly exec: ExecService,
    readonly events: EventLog,
    /** Processes on a root filesystem without a container record (build steps). */
    readonly tasks: TaskRunner,
    readonly networks: NetworkService,
    readonly volumes: VolumeService,
    /** The OCI runtime (runc under conmon): the API's `top` and version info ask it for its binaries. */
    readonly runtime: ConmonRuntime,
    readonly startedAt: Date,
    /** Dockerfile builds (`POST /build`) and their cache. */
    readonly builder: BuildService,
    /** Pull, push, login, search: the registry client. */
    readonly distribution: DistributionService,
    /** Healthcheck schedules: stopped at close, so a closing daemon runs no more probes. */
    private readonly health: HealthMonitor,
    /** What `berth system check` reads and repairs through. */
    private readonly checkTarget: CheckTarget,
    /** What the start-up check found and repaired (the daemon logs it). */
    readonly startupFindings: CheckFinding[],
  ) {}

  /** `berth system check [--repair]` on the live stores: work in progress is left alone. */
  check(o: CheckOptions): Promise<CheckReport> {
    return runCheck(this.checkTarget, o);
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    const startedAt = new Date();
    const content = await LocalContentStore.open(path.join(opts.dataRoot, 'content'));
    const snapshots = await OverlaySnapshotter.open(path.join(opts.dataRoot, 'overlay2'), opts.idMap);
    // The one code that deletes blobs and snapshots; images, containers and leases are its roots.
    const gc = new GarbageCollector(content, snapshots);
    const imageStore = await ImageStore.open(path.join(opts.dataRoot, 'image'), content);
    const events = new EventLog();
    // Container records first: the image and volume services learn from them who uses what.
    const containerStore = await ContainerStore.open(path.join(opts.dataRoot, 'containers'), opts.idMap?.rootPair().gid ?? 0);
    const images = new ImageService(imageStore, content, snapshots, gc, opts.idMap, { events, users: imageUsers(containerStore) });
    gc.addRoots('containers', (refs) => {
      for (const k of images.users.snapshotsInUse()) refs.snapshots.add(k);
    });
    const runtime = new ConmonRuntime({ execRoot: opts.execRoot, runc: opts.runc, conmon: opts.conmon });
    await runtime.init();
    const tasks = new TaskRunner(runtime, path.join(opts.execRoot, 'tasks'));
    await tasks.init();
    const bridge = opts.bridge
      ? await BridgeNetwork.open({ ...opts.bridge, ipamDir: path.join(opts.execRoot, 'ipam') }, path.join(opts.dataRoot, 'network', 'bridge-id'))
      : undefined;
    const volumeStore = await VolumeStore.open(path.join(opts.dataRoot, 'volumes'), opts.idMap?.rootPair() ?? { uid: 0, gid: 0 });
    const volumes = new VolumeService(volumeStore, {
      events,
      users: volumeUsers(containerStore),
    });
    const catalogue = new NetworkCatalogue(bridge, () => containerStore.list());
    const networks = new NetworkService(catalogue, new NetnsStore(path.join(opts.execRoot, 'netns'), { spares: true }));
    // User-defined networks: records under the data root; leases and DNS state under the exec root.
    networks.ipamDir = path.join(opts.execRoot, 'ipam');
    catalogue.user = await UserNetworks.open(path.join(opts.dataRoot, 'network', 'networks'), {
      ipamDir: networks.ipamDir,
      iptables: opts.bridge?.iptables ?? true,
      dns: new DnsServer(path.join(opts.execRoot, 'aardvark')),
      reserved: () => (bridge ? [bridge.subnet] : []),
      users: () => containerStore.list(),
    });
    const execSessions = new ExecSessions();
    const containers = new ContainerService({
      store: containerStore,
      images,
      rootfs: new ContainerRootfs(snapshots, opts.idMap, (keys) => gc.collectSnapshots(keys, { except: 'containers' })),
      runtime,
      networks,
      volumes,
      events,
      exec: execSessions,
      opts: { execRoot: opts.execRoot, seccompProfile: opts.seccompProfile, logDefaults: opts.logDefaults },
    });
    const exec = new ExecService(containers, runtime, execSessions);
    // Healthchecks run as execs while a container runs (container/health.ts).
    const health = new HealthMonitor({ get: (id) => containerStore.get(id), setHealth: (c, h, changed) => containers.setHealth(c, h, changed) }, (id, cmd, timeoutMs, signal) => exec.probe(id, cmd, timeoutMs, signal));
    // A --link alias on a user network follows its child (container/links.ts).
    catalogue.user.membersChanged = (id) => followNetworkLinks(id, containerStore);
    containers.onRuns((c) => void health.started(c).catch(() => undefined), (id) => health.stopped(id));
    // The build cache's records are the collector's "build-cache" roots.
    const buildCache = await BuildCache.open(path.join(opts.dataRoot, 'builder'));
    gc.addRoots('build-cache', (refs) => buildCache.addRoots(refs));
    const distribution = await DistributionService.open(images, content, opts.dataRoot, {
      ...DEFAULT_REGISTRY_OPTIONS,
      certsDir: '/etc/berth/certs.d',
      ...opts.registry,
    });
    const builder = new BuildService({
      images,
      tasks,
      cache: buildCache,
      tmp: path.join(opts.dataRoot, 'builder', 'tmp'),
      seccompProfile: opts.seccompProfile,
      // FROM an image that is not here pulls it, as dockerd's builder does.
      pull: (name, o, sink) => distribution.pull(name, o, sink),
      networks,
    });
    await builder.init();
    await containers.restore();
    // The store check's cheap part, repairing: whatever an interrupted delete,
    // import, load or start left unreferenced, mounted or leased.
    const checkTarget: CheckTarget = {
      dataRoot: opts.dataRoot,
      execRoot: opts.execRoot,
      liveSince: startedAt.getTime(),
      content,
      snapshots,
      images: imageStore,
      containers: containerStore,
      volumes: volumeStore,
      buildCache,
      gc,
      networks,
      runtime,
      bundleDir: (id) => path.join(opts.execRoot, 'containers', id),
      busy: (id) => containers.busy(id),
      markExited: (c, code, error) => containers.markExited(c.Id, code, error),
    };
    const startup = await runCheck(checkTarget, { repair: true, full: false });
    return new Engine(opts, images, containers, exec, events, tasks, networks, volumes, runtime, new Date(), builder, distribution, health, checkTarget, startup.Findings);
  }

  /** Stops watching; running containers are left to their conmon. The spare network namespaces go. */
  async close(): Promise<void> {
    this.health.close();
    this.exec.close();
    this.containers.close();
    this.runtime.close();
    await this.networks.close();
  }
}
