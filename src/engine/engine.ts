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
import { ContainerRootfs } from './container/rootfs.js';
import { ConmonRuntime } from './runtime/conmon.js';
import { EventLog } from './events.js';
import { ExecService } from './exec/service.js';
import type { IdentityMapping } from './idmap.js';
import { BridgeNetwork, type BridgeOptions } from './network/bridge.js';
import { NetnsStore } from './network/netns.js';
import { NetworkService } from './network/service.js';
import { VolumeService } from './volume/service.js';
import { VolumeStore } from './volume/store.js';

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
}

export class Engine {
  private constructor(
    readonly opts: EngineOptions,
    readonly images: ImageService,
    readonly containers: ContainerService,
    readonly exec: ExecService,
    readonly events: EventLog,
    readonly startedAt: Date,
  ) {}

  static async open(opts: EngineOptions): Promise<Engine> {
    const content = await LocalContentStore.open(path.join(opts.dataRoot, 'content'));
    const snapshots = await OverlaySnapshotter.open(path.join(opts.dataRoot, 'overlay2'), opts.idMap);
    // The one code that deletes blobs and snapshots; images, containers and leases are its roots.
    const gc = new GarbageCollector(content, snapshots);
    const imageStore = await ImageStore.open(path.join(opts.dataRoot, 'image'), content);
    const images = new ImageService(imageStore, content, snapshots, gc, opts.idMap);
    gc.addRoots('containers', (refs) => {
      for (const k of images.users.snapshotsInUse()) refs.snapshots.add(k);
    });
    const runtime = new ConmonRuntime({ execRoot: opts.execRoot, runc: opts.runc, conmon: opts.conmon });
    await runtime.init();
    const containerStore = await ContainerStore.open(path.join(opts.dataRoot, 'containers'), opts.idMap?.rootPair().gid ?? 0);
    const bridge = opts.bridge
      ? await BridgeNetwork.open({ ...opts.bridge, ipamDir: path.join(opts.execRoot, 'ipam') }, path.join(opts.dataRoot, 'network', 'bridge-id'))
      : undefined;
    const volumes = new VolumeService(await VolumeStore.open(path.join(opts.dataRoot, 'volumes'), opts.idMap?.rootPair() ?? { uid: 0, gid: 0 }));
    const networks = new NetworkService(bridge, new NetnsStore(path.join(opts.execRoot, 'netns')));
    const containers = new ContainerService(
      containerStore,
      images,
      new ContainerRootfs(snapshots, opts.idMap, (keys) => gc.collectSnapshots(keys, { except: 'containers' })),
      runtime,
      { execRoot: opts.execRoot, seccompProfile: opts.seccompProfile },
      networks,
      volumes,
    );
    const exec = new ExecService(containers, runtime);
    const events = new EventLog();
    images.eventLog = events;
    containers.eventLog = events;
    volumes.eventLog = events;
    await containers.restore();
    // Whatever an interrupted delete, import or load left unreferenced.
    await gc.run();
    return new Engine(opts, images, containers, exec, events, new Date());
  }

  /** Stops watching; running containers are left to their conmon. */
  close(): void {
    this.exec.close();
    this.containers.close();
    this.containers.runtime.close();
  }
}
