// Capability sets the way dockerd computes them: the 14 defaults, --cap-add /
// --cap-drop with the "ALL" keyword (moby daemon/pkg/oci/caps/utils.go
// TweakCapabilities), and --privileged as "everything this host can grant".
import { readFile } from 'node:fs/promises';
import { SpecError } from './errors.js';

/** Capability names indexed by their bit number (linux/capability.h, up to 6.x). */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default set, in moby's order (daemon/pkg/oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Decode a /proc/<pid>/status capability mask ("000001fffeffffff") into names, in bit order. */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt('0x' + hex.trim());
  const out: string[] = [];
  CAPABILITY_NAMES.forEach((name, bit) => {
    if ((mask >> BigInt(bit)) & 1n) out.push(name);
  });
  return out;
}

/** Encode names into the 16-hex-digit form /proc/<pid>/status uses. */
export function maskFromCaps(caps: readonly string[]): string {
  let mask = 0n;
  for (const c of caps) {
    const bit = CAPABILITY_NAMES.indexOf(c);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}

let hostCapsCache: Promise<string[]> | undefined;

/**
 * Capabilities this daemon can hand to a container: its bounding set. runc is
 * exec'd as root, and a root exec gets permitted = bounding, so CapBnd (not
 * CapEff) is the ceiling; asking for more makes runc fail ("unable to apply
 * caps"), which is what dockerd 20.10 does on this host for --privileged.
 * Read once: the bounding set of a running process can only shrink, and the
 * daemon does not drop caps.
 */
export function hostCapabilities(): Promise<string[]> {
  hostCapsCache ??= readFile('/proc/self/status', 'utf8').then((status) => {
    const m = /^CapBnd:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
    if (!m) throw new Error('cannot read CapBnd from /proc/self/status');
    return capsFromMask(m[1]);
  });
  return hostCapsCache;
}

const ALL = 'ALL';

/**
 * Upper-case, add the CAP_ prefix, keep "ALL" (moby NormalizeLegacyCapabilities).
 * Unknown names are errors. For adds, a cap the host cannot grant is an error
 * too, with moby's message; for drops it is accepted (dropping something we
 * never had is harmless, and failing would only annoy).
 */
function normalize(list: readonly string[], host: ReadonlySet<string>, forAdd: boolean): string[] {
  const out: string[] = [];
  for (const raw of list) {
    let c = raw.toUpperCase();
    if (c === ALL) {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = 'CAP_' + c;
    if (!CAPABILITY_NAMES.includes(c)) {
      throw new SpecError('invalid', `unknown capability: "${c}"`);
    }
    if (forAdd && !host.has(c)) {
      throw new SpecError(
        'invalid',
        `capability not supported by your kernel or not available in the current environment: "${c}"`,
      );
    }
    out.push(c);
  }
  return out;
}

/**
 * The container's capability list (moby TweakCapabilities), never outside
 * `host`: privileged = all host caps; "ALL" in adds = all host caps minus
 * drops; "ALL" in drops = only the adds; otherwise defaults - drops + adds.
 */
export function tweakCapabilities(
  adds: readonly string[],
  drops: readonly string[],
  privileged: boolean,
  hostCaps: readonly string[],
): string[] {
  const host = new Set(hostCaps);
  if (privileged) return [...hostCaps];
  if (adds.length === 0 && drops.length === 0) {
    return DEFAULT_CAPABILITIES.filter((c) => host.has(c));
  }
  const capDrop = normalize(drops, host, false);
  const capAdd = normalize(adds, host, true);
  let caps: string[];
  if (capAdd.includes(ALL)) {
    caps = hostCaps.filter((c) => !capDrop.includes(c));
  } else if (capDrop.includes(ALL)) {
    caps = capAdd;
  } else {
    caps = DEFAULT_CAPABILITIES.filter((c) => !capDrop.includes(c) && host.has(c));
    caps.push(...capAdd);
  }
  // moby keeps duplicates (--cap-add CHOWN); runc doesn't mind, but a clean list is easier to diff.
  return [...new Set(caps)];
}
