/**
 * @module daemon/check
 * `berth system check --data-root DIR`: the store check (engine/check) on a
 * data root whose daemon is stopped. The stores are opened without their
 * start-up repairs, so the report says everything; with `repair` the check
 * fixes it as the daemon would. The data-root lock keeps a daemon from
 * starting meanwhile (and refuses a root a daemon holds).
 */
import path from 'node:path';
import type { CheckReport } from '../common/api/check.js';
import { BuildCache } from '../engine/build/cache.js';
import { runCheck, type CheckOptions, type CheckTarget } from '../engine/check/check.js';
import { LocalContentStore } from '../engine/content/store.js';
import { transition } from '../engine/container/state.js';
import { ContainerStore } from '../engine/container/store.js';
import { imageUsers } from '../engine/container/users.js';
import { GarbageCollector } from '../engine/gc.js';
import { ImageService } from '../engine/image/service.js';
import { ImageStore } from '../engine/image/store.js';
import { BridgeNetwork } from '../engine/network/bridge.js';
import { DnsServer } from '../engine/network/dns.js';
import { NetworkCatalogue } from '../engine/network/catalogue.js';
import { NetnsStore } from '../engine/network/netns.js';
import { UserNetworks } from '../engine/network/networks.js';
import { NetworkService } from '../engine/network/service.js';
import { ConmonRuntime } from '../engine/runtime/conmon.js';
import { OverlaySnapshotter } from '../engine/snapshot/overlay.js';
import { VolumeStore } from '../engine/volume/store.js';
import { lockDataRoot } from './lock.js';

export interface OfflineCheckOptions extends CheckOptions {
  dataRoot: string;
  execRoot: string;
  /** The default bridge's name (berthd --bridge), to find its leases and port rules. */
  bridge?: string;
}

export async function checkOffline(o: OfflineCheckOptions): Promise<CheckReport> {
  const dataRoot = path.resolve(o.dataRoot);
  const execRoot = path.resolve(o.execRoot);
  const lock = await lockDataRoot(dataRoot);
  try {
    const content = await LocalContentStore.open(path.join(dataRoot, 'content'), { repair: false });
    const snapshots = await OverlaySnapshotter.open(path.join(dataRoot, 'overlay2'), undefined, { repair: false });
    const gc = new GarbageCollector(content, snapshots);
    const images = await ImageStore.open(path.join(dataRoot, 'image'), content);
    const containers = await ContainerStore.open(path.join(dataRoot, 'containers'), 0, { repair: false });
    // The collector's roots, as the engine registers them.
    const imageService = new ImageService(images, content, snapshots, gc, undefined, { users: imageUsers(containers) });
    gc.addRoots('containers', (refs) => {
      for (const k of imageService.users.snapshotsInUse()) refs.snapshots.add(k);
    });
    const cache = await BuildCache.open(path.join(dataRoot, 'builder'), { repair: false });
    gc.addRoots('build-cache', (refs) => cache.addRoots(refs));
    const ipamDir = path.join(execRoot, 'ipam');
    const bridgeOpts = { bridge: o.bridge ?? 'berth0', ipMasq: true, ipForward: true, iptables: true, ipamDir };
    const bridge = o.bridge === 'none' ? undefined : await BridgeNetwork.forCheck(bridgeOpts, path.join(dataRoot, 'network', 'bridge-id'));
    const catalogue = new NetworkCatalogue(bridge, () => containers.list());
    const networks = new NetworkService(catalogue, new NetnsStore(path.join(execRoot, 'netns')));
    networks.ipamDir = ipamDir;
    catalogue.user = await UserNetworks.open(path.join(dataRoot, 'network', 'networks'), {
      ipamDir,
      iptables: true,
      dns: new DnsServer(path.join(execRoot, 'aardvark')),
      reserved: () => [],
      users: () => containers.list(),
    });
    const target: CheckTarget = {
      dataRoot,
      execRoot,
      content,
      snapshots,
      images,
      containers,
      volumes: await VolumeStore.open(path.join(dataRoot, 'volumes'), { uid: 0, gid: 0 }, { repair: false }),
      buildCache: cache,
      gc,
      networks,
      runtime: new ConmonRuntime({ execRoot }),
      bundleDir: (id) => path.join(execRoot, 'containers', id),
      busy: () => false,
      // No daemon to finish the run: the record says exited; its mounts and
      // leases are leftovers the same check releases.
      markExited: async (c, code, error) => {
        c.State = transition(c.State, 'exit', { exitCode: code, error });
        await containers.save(c);
      },
    };
    return await runCheck(target, o);
  } finally {
    lock.close();
  }
}
