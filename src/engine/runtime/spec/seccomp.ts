// Turns a Docker-format seccomp profile (defaultAction, archMap, syscalls with
// includes/excludes) into the OCI `linux.seccomp` section for one container,
// as moby/profiles seccomp_linux.go setupSeccomp does: keep the native arch
// and its sub-arches, and only the rules whose arch / capability / kernel
// conditions hold for this container.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { SpecError } from './errors.js';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompAction } from './types.js';

/**
 * The profile file Debian's golang-github-containers-common ships. Same
 * format as Docker's, but not Docker's content: it allows mount, umount2,
 * unshare, setns, clone3, ptrace, keyctl… without any capability condition,
 * and its default answer is ENOSYS rather than EPERM. berth answers EPERM
 * and gates the namespace and mount calls as Docker's profile does
 * (dockerAdminGate below), so a default container cannot make a user
 * namespace and mount in it, and a module load is EPERM as in Docker. For Docker's exact filter, point BuildOptions.seccompProfilePath at
 * moby's default.json.
 */
export const DEFAULT_SECCOMP_PROFILE_PATH = '/usr/share/containers/seccomp.json';

/**
 * The calls Docker's default profile allows only with CAP_SYS_ADMIN
 * (moby/profiles seccomp/default.json): making namespaces, mounting,
 * setting host and domain names, BPF, perf, fanotify, syslog, quotas.
 */
const ADMIN_ONLY = [
  'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
  'lsm_get_self_attr', 'lsm_list_modules', 'lsm_set_self_attr', 'mount', 'mount_setattr', 'move_mount',
  'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns',
  'syslog', 'umount', 'umount2', 'unshare',
];
/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone with none of them is a plain fork or thread. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/**
 * A profile with Docker's default answer (EPERM) and its CAP_SYS_ADMIN gate on ADMIN_ONLY: those calls
 * leave every unconditional allow rule and are allowed with the capability;
 * without it, clone only without namespace flags, clone3 answers ENOSYS
 * (so libc falls back to clone), the rest EPERM.
 */
export function dockerAdminGate(p: SeccompProfile): SeccompProfile {
  const gated = new Set(ADMIN_ONLY);
  const syscalls: ProfileSyscall[] = [];
  for (const r of p.syscalls ?? []) {
    const names = r.names ?? (r.name ? [r.name] : []);
    const unconditional = r.action === 'SCMP_ACT_ALLOW' && !r.args?.length && !r.includes?.caps?.length;
    const kept = unconditional ? names.filter((n) => !gated.has(n)) : names;
    if (kept.length) syscalls.push({ ...r, name: undefined, names: kept });
  }
  syscalls.push(
    { names: ADMIN_ONLY, action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } },
    // s390 passes clone's flags second.
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }], includes: { arches: ['s390', 's390x'] }, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    // EPERM as Docker's default action answers, where this profile's default would say ENOSYS.
    { names: ADMIN_ONLY.filter((n) => n !== 'clone' && n !== 'clone3'), action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  );
  // Docker's default answer is EPERM (runc answers ENOSYS itself for calls newer than the profile).
  return { ...p, defaultErrnoRet: 1, syscalls };
}

interface Filter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

interface ProfileSyscall {
  name?: string;
  names?: string[] | null;
  action: SeccompAction;
  errnoRet?: number | null;
  args?: LinuxSeccompArg[] | null;
  includes?: Filter | null;
  excludes?: Filter | null;
}

/** The Docker profile format (moby/profiles seccomp.go `Seccomp`). */
export interface SeccompProfile {
  defaultAction: SeccompAction | '';
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: ProfileSyscall[] | null;
}

/** Node's process.arch → libseccomp's native arch name (the strings `arches` filters use). */
export function nativeArch(arch: string = process.arch, endianness: string = os.endianness()): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return 'x86';
    case 'arm':
      return 'arm';
    case 'arm64':
      return 'arm64';
    case 'ppc64':
      return endianness === 'LE' ? 'ppc64le' : 'ppc64';
    case 'ppc':
      return 'ppc';
    case 's390x':
      return 's390x';
    case 's390':
      return 's390';
    case 'riscv64':
      return 'riscv64';
    case 'loong64':
      return 'loong64';
    case 'mips':
      return 'mips';
    case 'mipsel':
      return 'mipsel';
    default:
      return arch;
  }
}

/** libseccomp native arch → the SCMP_ARCH_* name archMap is keyed by (moby nativeToSeccomp). */
const NATIVE_TO_SECCOMP: Record<string, string> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
  mips: 'SCMP_ARCH_MIPS',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel: 'SCMP_ARCH_MIPSEL',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32',
  ppc: 'SCMP_ARCH_PPC',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
};

/** "4.8" → [4, 8]; like moby parseRelease, only kernel and major count ("6.18.44-fc" → [6, 18]). */
export function parseKernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  if (!m) throw new Error(`failed to parse kernel version "${release}"`);
  return [Number(m[1]), Number(m[2])];
}

function kernelAtLeast(kernel: [number, number], min: string): boolean {
  const [k, maj] = parseKernelVersion(min);
  return kernel[0] > k || (kernel[0] === k && kernel[1] >= maj);
}

/** Parse a profile's JSON text; user-supplied text gets moby's "Decoding seccomp profile failed" message. */
export function parseProfile(text: string): SeccompProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SpecError('invalid', `Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SpecError('invalid', 'Decoding seccomp profile failed: not a JSON object');
  }
  const p = parsed as SeccompProfile;
  if (p.syscalls != null && !Array.isArray(p.syscalls)) {
    throw new SpecError('invalid', 'Decoding seccomp profile failed: "syscalls" is not an array');
  }
  return p;
}

const fileCache = new Map<string, Promise<SeccompProfile>>();

/**
 * Read and parse a profile file once per path: it is ~16 KiB of JSON and
 * every container start needs it. A failed read is not cached, so fixing
 * the file does not need a daemon restart.
 */
export function loadProfileFile(file: string = DEFAULT_SECCOMP_PROFILE_PATH): Promise<SeccompProfile> {
  let p = fileCache.get(file);
  if (!p) {
    p = readFile(file, 'utf8').then(
      (text) => (file === DEFAULT_SECCOMP_PROFILE_PATH ? dockerAdminGate(parseProfile(text)) : parseProfile(text)),
      (err: Error) => {
        throw new Error(`cannot read seccomp profile ${file}: ${err.message}`);
      },
    );
    p.catch(() => fileCache.delete(file));
    fileCache.set(file, p);
  }
  return p;
}

export interface SeccompContext {
  /** Final bounding set of the container (moby filters on Bounding). */
  capabilities: readonly string[];
  /** libseccomp native arch name, e.g. "amd64"; defaults to this process's. */
  arch?: string;
  /** Kernel release, e.g. os.release(); defaults to this host's. */
  kernelRelease?: string;
}

/** moby setupSeccomp. Returns undefined for an empty profile (no default action, no rules = disabled). */
export function setupSeccomp(profile: SeccompProfile, ctx: SeccompContext): LinuxSeccomp | undefined {
  const syscalls = profile.syscalls ?? [];
  if (!profile.defaultAction && syscalls.length === 0) return undefined;
  if (!profile.defaultAction) {
    // moby would pass "" to runc, which rejects it; say so up front.
    throw new SpecError('invalid', 'seccomp profile has no defaultAction');
  }
  if ((profile.architectures?.length ?? 0) > 0 && (profile.archMap?.length ?? 0) > 0) {
    throw new SpecError(
      'invalid',
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }

  const arch = ctx.arch ?? nativeArch();
  const caps = new Set(ctx.capabilities);
  let kernel: [number, number] | undefined;
  const kernelOk = (min: string): boolean => kernelAtLeast((kernel ??= parseKernelVersion(ctx.kernelRelease ?? os.release())), min);

  const out: LinuxSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet != null) out.defaultErrnoRet = profile.defaultErrnoRet;

  const architectures = [...(profile.architectures ?? [])];
  const scmpArch = NATIVE_TO_SECCOMP[arch];
  if (scmpArch) {
    const entry = (profile.archMap ?? []).find((a) => a.architecture === scmpArch);
    if (entry) architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
  }
  if (architectures.length > 0) out.architectures = architectures;
  if (profile.flags && profile.flags.length > 0) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  const rules: LinuxSyscall[] = [];
  for (const call of syscalls) {
    let names = call.names ?? [];
    if (call.name) {
      if (names.length > 0) {
        throw new SpecError(
          'invalid',
          "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'",
        );
      }
      names = [call.name];
    }
    const ex = call.excludes;
    if (ex) {
      if (ex.arches?.includes(arch)) continue;
      if (ex.caps?.some((c) => caps.has(c))) continue;
      if (ex.minKernel && kernelOk(ex.minKernel)) continue;
    }
    const inc = call.includes;
    if (inc) {
      if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(arch)) continue;
      if (inc.caps && inc.caps.length > 0 && !inc.caps.every((c) => caps.has(c))) continue;
      if (inc.minKernel && !kernelOk(inc.minKernel)) continue;
    }
    // Only the OCI fields go out: profiles carry extras ("comment", containers' "errno" names).
    const rule: LinuxSyscall = { names: [...names], action: call.action };
    if (call.errnoRet != null) rule.errnoRet = call.errnoRet;
    if (call.args && call.args.length > 0) {
      rule.args = call.args.map((a) => {
        const arg: LinuxSeccompArg = { index: a.index, value: a.value, op: a.op };
        if (a.valueTwo) arg.valueTwo = a.valueTwo;
        return arg;
      });
    }
    rules.push(rule);
  }
  out.syscalls = rules;
  return out;
}
