/**
 * @module engine/runtime/spec/devices
 * What `--device`, `--device-cgroup-rule` and `--group-add` add to a spec,
 * as moby's oci_linux.go WithDevices and WithUser do: host devices made in
 * the container (a directory brings every device under it) with a cgroup
 * rule allowing each, the user's device cgroup rules after the defaults,
 * and extra groups by number or by name from the container's /etc/group.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { devMajor, devMinor } from './host.js';
import { SpecError } from './errors.js';
import type { LinuxDevice, LinuxDeviceCgroup } from './types.js';

/** HostConfig.Devices' entries. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

/** moby deviceCgroupRuleRegex: `type major:minor access`, `*` for any number. */
const RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule` values as OCI cgroup rules; refused as dockerd refuses them at start. */
export function deviceCgroupRules(rules: readonly string[]): LinuxDeviceCgroup[] {
  return rules.map((r) => {
    const m = RULE.exec(r);
    if (!m) throw new SpecError('invalid', `invalid device cgroup rule format: '${r}'`);
    const num = (s: string) => (s === '*' ? -1 : Number(s));
    return { allow: true, type: m[1] as 'a' | 'b' | 'c', major: num(m[2]!), minor: num(m[3]!), access: m[4]! };
  });
}

async function deviceAt(hostPath: string): Promise<LinuxDevice | undefined> {
  const st = await lstat(hostPath, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { path: hostPath, type, major: devMajor(st.rdev), minor: devMinor(st.rdev), fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/**
 * `--device` entries as spec devices and the cgroup rules that allow them
 * (moby devicesFromPath): a device node maps to its container path (the
 * host path when none is given); a directory maps every device below it.
 */
export async function mappedDevices(mappings: readonly DeviceMapping[]): Promise<{ devices: LinuxDevice[]; rules: LinuxDeviceCgroup[] }> {
  const devices: LinuxDevice[] = [];
  const rules: LinuxDeviceCgroup[] = [];
  for (const m of mappings) {
    const access = m.CgroupPermissions || 'rwm';
    const inContainer = m.PathInContainer || m.PathOnHost;
    const add = (dev: LinuxDevice, at: string) => {
      devices.push({ ...dev, path: at });
      rules.push({ allow: true, type: dev.type as 'b' | 'c', major: dev.major, minor: dev.minor, access });
    };
    let dev: LinuxDevice | undefined;
    try {
      dev = await deviceAt(m.PathOnHost);
    } catch (err) {
      throw new SpecError('invalid', `error gathering device information while adding custom device "${m.PathOnHost}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (dev) {
      add(dev, inContainer);
      continue;
    }
    const found = await devicesUnder(m.PathOnHost);
    if (found.length === 0) throw new SpecError('invalid', `error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
    for (const d of found) add(d, path.posix.join(inContainer, path.relative(m.PathOnHost, d.path)));
  }
  return { devices, rules };
}

async function devicesUnder(dir: string): Promise<LinuxDevice[]> {
  const out: LinuxDevice[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await devicesUnder(full)));
    else {
      const d = await deviceAt(full).catch(() => undefined);
      if (d) out.push(d);
    }
  }
  return out;
}

/**
 * `--group-add`: numbers as they are, names looked up in the container's
 * /etc/group (moby/sys/user GetAdditionalGroups, with its messages).
 */
export function additionalGroups(groupAdd: readonly string[], groupFile: string): number[] {
  const groups = groupFile.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  return groupAdd.map((g) => {
    const byName = groups.find((f) => f[0] === g);
    if (byName && byName[2] !== undefined && /^\d+$/.test(byName[2])) return Number(byName[2]);
    if (/^\d+$/.test(g)) {
      const n = Number(g);
      if (n > 2 ** 31 - 1) throw new SpecError('invalid', `Invalid group ${g}`);
      return n;
    }
    throw new SpecError('invalid', `Unable to find group ${g}: no matching entries in group file`);
  });
}
