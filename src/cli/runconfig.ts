/**
 * The flags `run` and `create` share, and how they become the create
 * request body (docker/cli cli/command/container/opts.go: AddFlags and
 * parse). The body has the fields and order the docker CLI sends, so a
 * container looks the same whichever client made it.
 */
import { parseExpose, parsePublish, type ParsedPorts } from './ports.js';
import type { ContainerCreateBody, HostConfig, Mount } from '../common/api/container.js';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  collect,
  effectiveCaps,
  labelsToMap,
  parseCpus,
  parseEnv,
  parseEnvFile,
  parseExtraHost,
  parseIntFlag,
  parseMemBytes,
  parseMemSwapBytes,
  parseRestartPolicy,
  parseSecurityOpts,
  parseUlimit,
  ulimitList,
  validateLabel,
  type Ulimit,
} from './opts.js';

export interface CreateFlags {
  attach?: string[];
  addHost?: string[];
  capAdd?: string[];
  capDrop?: string[];
  cpuShares?: number;
  cpus?: number;
  cpusetCpus?: string;
  domainname?: string;
  entrypoint?: string;
  env?: (string | undefined)[];
  envFile?: string[];
  hostname?: string;
  init?: boolean;
  interactive?: boolean;
  label?: string[];
  logDriver?: string;
  logOpt?: string[];
  memory?: number;
  memorySwap?: number;
  name?: string;
  network?: string;
  pidsLimit?: number;
  platform?: string;
  privileged?: boolean;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  pull: string;
  quiet?: boolean;
  readOnly?: boolean;
  restart?: string;
  rm?: boolean;
  securityOpt?: string[];
  shmSize?: number;
  stopSignal?: string;
  stopTimeout?: number;
  tmpfs?: string[];
  volume?: string[];
  mount?: Mount[];
  tty?: boolean;
  ulimit?: Ulimit[];
  user?: string;
  userns?: string;
  workdir?: string;
  // Networking (docker's --ip, --network-alias, …): endpoint settings for the network asked for.
  ip?: string;
  ip6?: string;
  networkAlias?: string[];
  macAddress?: string;
  linkLocalIp?: string[];
  link?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  volumesFrom?: string[];
}

function attachStream(v: string): string {
  const s = v.toLowerCase();
  if (!['stdin', 'stdout', 'stderr'].includes(s)) throw new InvalidArgumentError('valid streams are STDIN, STDOUT and STDERR');
  return s;
}

/** Adds the container configuration flags (docker's AddFlags plus create's own). */
export function addCreateFlags(cmd: Command): Command {
  return cmd
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect(parseExtraHost))
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect(attachStream))
    .option('--cap-add <list>', 'Add Linux capabilities', collect())
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect())
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', parseIntFlag)
    .option('--cpus <decimal>', 'Number of CPUs', parseCpus)
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <list>', 'Set environment variables', collect(parseEnv))
    .option('--env-file <list>', 'Read in a file of environment variables', collect())
    .option('-h, --hostname <string>', 'Container host name')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-l, --label <list>', 'Set meta data on a container', collect(validateLabel))
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect())
    .option('-m, --memory <bytes>', 'Memory limit', parseMemBytes)
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", parseMemSwapBytes)
    .option('--name <string>', 'Assign a name to the container')
    .option('--network <network>', 'Connect a container to a network')
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect())
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--link-local-ip <list>', 'Container IPv4/IPv6 link-local addresses', collect())
    .option('--link <list>', 'Add link to another container', collect())
    .option('--dns <list>', 'Set custom DNS servers', collect())
    .option('--dns-search <list>', 'Set custom DNS search domains', collect())
    .option('--dns-option <list>', 'Set DNS options', collect())
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect())
    .addOption(new Option('--net <network>', 'Connect a container to a network').hideHelp())
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', parseIntFlag)
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--privileged', 'Give extended privileges to this container')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect())
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <list>', 'Expose a port or a range of ports', collect())
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('-q, --quiet', 'Suppress the pull output')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--security-opt <list>', 'Security Options', collect())
    .option('--shm-size <bytes>', 'Size of /dev/shm', parseMemBytes)
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container', parseIntFlag)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect())
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'Ulimit options', collect(parseUlimit))
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--userns <string>', 'User namespace to use')
    .option('-v, --volume <list>', 'Bind mount a volume', collect())
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect(parseMount))
    .option('-w, --workdir <string>', 'Working directory inside the container');
}

/** What run and create need: the create body, and how to attach to what it creates. */
export interface RunConfig {
  /** The POST /containers/create body. */
  body: ContainerCreateBody & { Image: string; HostConfig: HostConfig };
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  tty: boolean;
  autoRemove: boolean;
}

/**
 * docker's parse(): flags, image and command into a create body. Throws
 * plain Errors for invalid combinations (reported as "berth: …", status 125).
 * `consoleSize` is [rows, cols] of the local terminal when stdout is one.
 */
export function buildContainerConfig(o: CreateFlags & { net?: string }, image: string, command: string[], consoleSize?: [number, number]): RunConfig {
  const attach = o.attach ?? [];
  const attachStdin = attach.includes('stdin') || !!o.interactive;
  const attachStdout = attach.length === 0 || attach.includes('stdout');
  const attachStderr = attach.length === 0 || attach.includes('stderr');

  // env files first, then -e, as docker's ReadKVEnvStrings
  const env = [...(o.envFile ?? []).flatMap(parseEnvFile), ...(o.env ?? []).filter((e): e is string => e !== undefined)];
  const restart = parseRestartPolicy(o.restart ?? 'no');
  if (o.rm && restart.Name !== '' && restart.Name !== 'no') throw new Error('conflicting options: cannot specify both --restart and --rm');
  const { capAdd, capDrop } = effectiveCaps(o.capAdd ?? [], o.capDrop ?? []);
  const securityOpt = o.securityOpt?.length ? parseSecurityOpts(o.securityOpt) : null;
  let tmpfs: Record<string, string> | undefined;
  for (const t of o.tmpfs ?? []) {
    const colon = t.indexOf(':');
    tmpfs ??= {};
    if (colon >= 0) tmpfs[t.slice(0, colon)] = t.slice(colon + 1);
    else tmpfs[t] = '';
  }
  const tty = !!o.tty;
  const network = o.network ?? o.net;
  // docker's parseLoggingOpts: key=value pairs (a bare key means an empty value); none takes no options.
  const logOpts: Record<string, string> = {};
  for (const kv of o.logOpt ?? []) {
    const eq = kv.indexOf('=');
    logOpts[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  if (o.logDriver === 'none' && (o.logOpt ?? []).length > 0) throw new Error('invalid logging opts for driver none');
  // docker: `-v /path` (no host side) is an anonymous volume in Config.Volumes; the rest are binds.
  const binds = (o.volume ?? []).filter((v) => v.includes(':'));
  const anonymousVolumes = Object.fromEntries((o.volume ?? []).filter((v) => !v.includes(':')).map((v) => [v, {}]));
  const ports: ParsedPorts = { exposed: {}, bindings: {} };
  for (const p of o.publish ?? []) parsePublish(p, ports);
  for (const e of o.expose ?? []) parseExpose(e, ports);
  // docker's UsernsMode.Valid(): the daemon's default ("") or the host's.
  if (o.userns !== undefined && o.userns !== '' && o.userns !== 'host') throw new Error('--userns: invalid USER mode');

  const hostConfig: HostConfig = {
    Binds: binds.length ? binds.map(absoluteBind) : null,
    ...(o.mount?.length ? { Mounts: o.mount } : {}),
    ContainerIDFile: '',
    LogConfig: { Type: o.logDriver ?? '', Config: logOpts },
    // berth's daemon picks the network itself unless one is asked for.
    ...(network ? { NetworkMode: network } : {}),
    PortBindings: ports.bindings,
    RestartPolicy: restart,
    AutoRemove: !!o.rm,
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: tty && consoleSize ? consoleSize : [0, 0],
    CapAdd: capAdd,
    CapDrop: capDrop,
    CgroupnsMode: '',
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: o.addHost?.length ? o.addHost : null,
    ...(o.dns?.length ? { Dns: o.dns } : {}),
    ...(o.dnsSearch?.length ? { DnsSearch: o.dnsSearch } : {}),
    ...(o.dnsOption?.length ? { DnsOptions: o.dnsOption } : {}),
    ...(o.link?.length ? { Links: o.link } : {}),
    ...(o.volumesFrom?.length ? { VolumesFrom: o.volumesFrom } : {}),
    GroupAdd: null,
    IpcMode: '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: !!o.privileged,
    PublishAllPorts: !!o.publishAll,
    ReadonlyRootfs: !!o.readOnly,
    SecurityOpt: securityOpt,
    ...(tmpfs ? { Tmpfs: tmpfs } : {}),
    UTSMode: '',
    UsernsMode: o.userns ?? '',
    ShmSize: o.shmSize ?? 0,
    Isolation: '',
    CpuShares: o.cpuShares ?? 0,
    Memory: o.memory ?? 0,
    NanoCpus: o.cpus ?? 0,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: o.cpusetCpus ?? '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: o.memorySwap ?? 0,
    MemorySwappiness: -1,
    OomKillDisable: false,
    PidsLimit: o.pidsLimit ?? 0,
    Ulimits: ulimitList(o.ulimit ?? []),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
    ...(o.init ? { Init: true } : {}),
  };

  const body: RunConfig['body'] = {
    Hostname: o.hostname ?? '',
    Domainname: o.domainname ?? '',
    User: o.user ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ...(Object.keys(ports.exposed).length ? { ExposedPorts: ports.exposed } : {}),
    Tty: tty,
    OpenStdin: !!o.interactive,
    StdinOnce: !!o.interactive,
    Env: env.length ? env : null,
    Cmd: command.length ? command : null,
    Image: image,
    Volumes: anonymousVolumes,
    WorkingDir: o.workdir ?? '',
    // --entrypoint "" sends [""]: the daemon then drops the image's entrypoint.
    Entrypoint: o.entrypoint !== undefined ? [o.entrypoint] : null,
    OnBuild: null,
    Labels: labelsToMap(o.label ?? []),
    ...(o.stopSignal ? { StopSignal: o.stopSignal } : {}),
    ...(o.stopTimeout !== undefined ? { StopTimeout: o.stopTimeout } : {}),
    HostConfig: hostConfig,
    // docker sends endpoint settings only for the network asked for (the default one's under "default").
    ...endpointsConfig(network, o),
  };
  return { body, attachStdin, attachStdout, attachStderr, tty, autoRemove: !!o.rm };
}

/** NetworkingConfig for the network asked for: --ip, --ip6, --link-local-ip, --network-alias, --mac-address, as the docker CLI sends them. */
function endpointsConfig(network: string | undefined, o: CreateFlags): { NetworkingConfig?: { EndpointsConfig: Record<string, Record<string, unknown>> } } {
  const ipam = {
    ...(o.ip ? { IPv4Address: o.ip } : {}),
    ...(o.ip6 ? { IPv6Address: o.ip6 } : {}),
    ...(o.linkLocalIp?.length ? { LinkLocalIPs: o.linkLocalIp } : {}),
  };
  const ep = {
    ...(Object.keys(ipam).length ? { IPAMConfig: ipam } : {}),
    ...(o.networkAlias?.length ? { Aliases: o.networkAlias } : {}),
    ...(o.macAddress ? { MacAddress: o.macAddress } : {}),
  };
  if (!network && !Object.keys(ep).length) return {};
  return { NetworkingConfig: { EndpointsConfig: Object.keys(ep).length ? { [network || 'default']: ep } : {} } };
}

/** `-v ./dir:/x` → an absolute host path, as the docker CLI sends it. */
function absoluteBind(spec: string): string {
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec.startsWith('.:')) {
    const i = spec.indexOf(':');
    const host = i < 0 ? spec : spec.slice(0, i);
    return `${path.resolve(host)}${i < 0 ? '' : spec.slice(i)}`;
  }
  return spec;
}

/** `--mount type=bind,source=/a,target=/b,readonly` → the API's Mount object (docker/cli opts/mount.go). */
export function parseMount(value: string): Mount {
  const m: Mount = { Type: 'volume' };
  const bind: NonNullable<Mount['BindOptions']> = {};
  const tmpfs: NonNullable<Mount['TmpfsOptions']> = {};
  for (const field of value.split(',')) {
    const i = field.indexOf('=');
    const key = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    const val = i < 0 ? undefined : field.slice(i + 1);
    switch (key) {
      case 'type':
        m.Type = val;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = val === undefined || ['1', 'true'].includes(val.toLowerCase());
        break;
      case 'bind-propagation':
        bind.Propagation = val;
        break;
      case 'bind-create-mountpoint':
        bind.CreateMountpoint = val === undefined || ['1', 'true'].includes(val.toLowerCase());
        break;
      case 'tmpfs-size':
        tmpfs.SizeBytes = parseMemBytes(val ?? '');
        break;
      case 'tmpfs-mode':
        tmpfs.Mode = Number.parseInt(val ?? '', 8);
        break;
      default:
        throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) throw new InvalidArgumentError('target is required');
  if (Object.keys(bind).length) m.BindOptions = bind;
  if (Object.keys(tmpfs).length) m.TmpfsOptions = tmpfs;
  return m;
}
