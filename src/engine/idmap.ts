/**
 * @module engine/idmap
 * User-namespace ID mappings (`--userns-remap`): which host uid/gid stands
 * for each uid/gid inside containers. With a mapping, everything berth writes
 * for containers to see (unpacked layers, rw layers, `cp` into a container)
 * is owned by the host IDs, and everything it reads back out (commit, diff,
 * export, `cp` out of a container) is translated to container IDs, exactly as
 * dockerd's idtools.IdentityMapping does. Without a mapping (the default)
 * every function here is the identity.
 */

import { EngineError } from './errors.js';

/** One contiguous range, as in /etc/subuid and the OCI runtime spec's uidMappings. */
export interface IdRange {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Identity {
  uid: number;
  gid: number;
}

export class IdentityMapping {
  constructor(
    readonly uids: readonly IdRange[],
    readonly gids: readonly IdRange[],
  ) {
    if (uids.length === 0 || gids.length === 0) throw new Error('an ID mapping needs at least one uid and one gid range');
  }

  /**
   * Container IDs are handed out consecutively over the subordinate ranges
   * in file order (range 1 covers container IDs 0..size1-1, range 2 the next
   * ones), as dockerd builds them from /etc/subuid.
   */
  static fromSubordinateRanges(uidRanges: { start: number; length: number }[], gidRanges: { start: number; length: number }[]): IdentityMapping {
    const build = (rs: { start: number; length: number }[]): IdRange[] => {
      let next = 0;
      return rs.map((r) => {
        const m = { containerID: next, hostID: r.start, size: r.length };
        next += r.length;
        return m;
      });
    };
    return new IdentityMapping(build(uidRanges), build(gidRanges));
  }

  /** The host IDs of the container's root: owner of the daemon's remapped directories. */
  rootPair(): Identity {
    return this.toHost({ uid: 0, gid: 0 });
  }

  toHost(id: Identity): Identity {
    return { uid: translate(this.uids, id.uid, true, 'uid'), gid: translate(this.gids, id.gid, true, 'gid') };
  }

  toContainer(id: Identity): Identity {
    return { uid: translate(this.uids, id.uid, false, 'uid'), gid: translate(this.gids, id.gid, false, 'gid') };
  }
}

function translate(ranges: readonly IdRange[], id: number, toHost: boolean, what: 'uid' | 'gid'): number {
  for (const r of ranges) {
    const from = toHost ? r.containerID : r.hostID;
    const to = toHost ? r.hostID : r.containerID;
    if (id >= from && id < from + r.size) return to + (id - from);
  }
  // dockerd's idtools wording: the ID has no counterpart on the other side.
  throw new EngineError('invalid', toHost ? `Container ID ${id} cannot be mapped to a host ID` : `Host ${what} ${id} cannot be mapped to a container ID`);
}

/** Host IDs for container IDs; the identity when there is no mapping. */
export function toHost(map: IdentityMapping | undefined, id: Identity): Identity {
  return map ? map.toHost(id) : id;
}

/** Container IDs for host IDs; the identity when there is no mapping. */
export function toContainer(map: IdentityMapping | undefined, id: Identity): Identity {
  return map ? map.toContainer(id) : id;
}

/** Who owns directories the container's root must own: root:root, or the remapped root. */
export function rootPair(map: IdentityMapping | undefined): Identity {
  return map ? map.rootPair() : { uid: 0, gid: 0 };
}
