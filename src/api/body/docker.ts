/**
 * @module api/body/docker
 * The Engine API's JSON request bodies as schemas (./schema.ts), field for
 * field after moby's Go types (api/types/container/config.go, hostconfig.go,
 * network/endpoint.go, mount/mount.go, exec, network and volume create
 * options, registry.AuthConfig). JSON names and Go types are the wire's:
 * `CpuShares` is int64, `BlkioWeight` uint16, `Cmd` a StrSlice. A field
 * missing here is dropped from a request, so keep these in step with
 * src/common/api/.
 */
import {
  any, bool, fixedArray, int, int64, map, nullable, ptr, slice, str, strslice, struct, uint, uint16, uint32, uint64, type Schema,
} from './schema.js';

const stringMap = map(str);
/** map[string]struct{} (nat.PortSet, Config.Volumes): the value's fields are ignored. */
const set = map(struct({}));
/** time.Duration: nanoseconds as an int64. */
const duration = int64;

const healthConfig = ptr({
  Test: slice(str),
  Interval: duration,
  Timeout: duration,
  StartPeriod: duration,
  StartInterval: duration,
  Retries: int,
});

/** container.Config: the create body's top level, commit's body, an image's config. */
const configFields: Record<string, Schema> = {
  Hostname: str,
  Domainname: str,
  User: str,
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ExposedPorts: set,
  Tty: bool,
  OpenStdin: bool,
  StdinOnce: bool,
  Env: slice(str),
  Cmd: strslice,
  Healthcheck: healthConfig,
  ArgsEscaped: bool,
  Image: str,
  Volumes: set,
  WorkingDir: str,
  Entrypoint: strslice,
  NetworkDisabled: bool,
  MacAddress: str,
  OnBuild: slice(str),
  Labels: stringMap,
  StopSignal: str,
  StopTimeout: nullable(int),
  Shell: strslice,
};

const throttleDevice = nullable(struct({ Path: str, Rate: uint64 }));

/** container.Resources: embedded in HostConfig, and `docker update`'s body. */
const resourcesFields: Record<string, Schema> = {
  CpuShares: int64,
  Memory: int64,
  NanoCpus: int64,
  CgroupParent: str,
  BlkioWeight: uint16,
  BlkioWeightDevice: slice(nullable(struct({ Path: str, Weight: uint16 }))),
  BlkioDeviceReadBps: slice(throttleDevice),
  BlkioDeviceWriteBps: slice(throttleDevice),
  BlkioDeviceReadIOps: slice(throttleDevice),
  BlkioDeviceWriteIOps: slice(throttleDevice),
  CpuPeriod: int64,
  CpuQuota: int64,
  CpuRealtimePeriod: int64,
  CpuRealtimeRuntime: int64,
  CpusetCpus: str,
  CpusetMems: str,
  Devices: slice(struct({ PathOnHost: str, PathInContainer: str, CgroupPermissions: str })),
  DeviceCgroupRules: slice(str),
  DeviceRequests: slice(struct({ Driver: str, Count: int, DeviceIDs: slice(str), Capabilities: slice(slice(str)), Options: stringMap })),
  KernelMemory: int64,
  KernelMemoryTCP: int64,
  MemoryReservation: int64,
  MemorySwap: int64,
  MemorySwappiness: nullable(int64),
  OomKillDisable: nullable(bool),
  PidsLimit: nullable(int64),
  Ulimits: slice(nullable(struct({ Name: str, Hard: int64, Soft: int64 }))),
  CpuCount: int64,
  CpuPercent: int64,
  IOMaximumIOps: uint64,
  IOMaximumBandwidth: uint64,
};

const restartPolicy = struct({ Name: str, MaximumRetryCount: int });

/** mount.Mount: one --mount. */
const mount = struct({
  Type: str,
  Source: str,
  Target: str,
  ReadOnly: bool,
  Consistency: str,
  BindOptions: ptr({ Propagation: str, NonRecursive: bool, CreateMountpoint: bool, ReadOnlyNonRecursive: bool, ReadOnlyForceRecursive: bool }),
  VolumeOptions: ptr({ NoCopy: bool, Labels: stringMap, Subpath: str, DriverConfig: ptr({ Name: str, Options: stringMap }) }),
  ImageOptions: ptr({ Subpath: str }),
  TmpfsOptions: ptr({ SizeBytes: int64, Mode: uint32, Options: slice(slice(str)) }),
  ClusterOptions: ptr({}),
});

/** container.HostConfig. */
const hostConfig = ptr({
  ...resourcesFields,
  Binds: slice(str),
  ContainerIDFile: str,
  LogConfig: struct({ Type: str, Config: stringMap }),
  NetworkMode: str,
  PortBindings: map(slice(struct({ HostIp: str, HostPort: str }))),
  RestartPolicy: restartPolicy,
  AutoRemove: bool,
  VolumeDriver: str,
  VolumesFrom: slice(str),
  ConsoleSize: fixedArray(uint, 2),
  Annotations: stringMap,
  CapAdd: strslice,
  CapDrop: strslice,
  CgroupnsMode: str,
  Dns: slice(str),
  DnsOptions: slice(str),
  DnsSearch: slice(str),
  ExtraHosts: slice(str),
  GroupAdd: slice(str),
  IpcMode: str,
  Cgroup: str,
  Links: slice(str),
  OomScoreAdj: int,
  PidMode: str,
  Privileged: bool,
  PublishAllPorts: bool,
  ReadonlyRootfs: bool,
  SecurityOpt: slice(str),
  StorageOpt: stringMap,
  Tmpfs: stringMap,
  UTSMode: str,
  UsernsMode: str,
  ShmSize: int64,
  Sysctls: stringMap,
  Runtime: str,
  Isolation: str,
  Mounts: slice(mount),
  MaskedPaths: slice(str),
  ReadonlyPaths: slice(str),
  Init: nullable(bool),
});

/** network.EndpointSettings. */
const endpointSettings = ptr({
  IPAMConfig: ptr({ IPv4Address: str, IPv6Address: str, LinkLocalIPs: slice(str) }),
  Links: slice(str),
  Aliases: slice(str),
  DriverOpts: stringMap,
  GwPriority: int,
  NetworkID: str,
  EndpointID: str,
  Gateway: str,
  IPAddress: str,
  IPPrefixLen: int,
  IPv6Gateway: str,
  GlobalIPv6Address: str,
  GlobalIPv6PrefixLen: int,
  MacAddress: str,
  DNSNames: slice(str),
});

/** POST /containers/create: container.CreateRequest (Config, with HostConfig and NetworkingConfig beside it). */
export const containerCreateBody = struct({
  ...configFields,
  HostConfig: hostConfig,
  NetworkingConfig: ptr({ EndpointsConfig: map(endpointSettings) }),
});

/** POST /commit: a container.Config. */
export const containerConfigBody = struct(configFields);

/** POST /containers/{id}/update: container.UpdateConfig. */
export const containerUpdateBody = struct({ ...resourcesFields, RestartPolicy: restartPolicy });

/** POST /containers/{id}/exec: container.ExecOptions. */
export const execCreateBody = struct({
  User: str,
  Privileged: bool,
  Tty: bool,
  ConsoleSize: nullable(fixedArray(uint, 2)),
  AttachStdin: bool,
  AttachStderr: bool,
  AttachStdout: bool,
  Detach: bool,
  DetachKeys: str,
  Env: slice(str),
  WorkingDir: str,
  Cmd: slice(str),
});

/** POST /exec/{id}/start: container.ExecStartOptions. */
export const execStartBody = struct({ Detach: bool, Tty: bool, ConsoleSize: nullable(fixedArray(uint, 2)) });

/** POST /networks/create: network.CreateRequest. */
export const networkCreateBody = struct({
  Name: str,
  Driver: str,
  Scope: str,
  EnableIPv4: nullable(bool),
  EnableIPv6: nullable(bool),
  IPAM: ptr({ Driver: str, Options: stringMap, Config: slice(struct({ Subnet: str, IPRange: str, Gateway: str, AuxiliaryAddresses: stringMap })) }),
  Internal: bool,
  Attachable: bool,
  Ingress: bool,
  ConfigOnly: bool,
  ConfigFrom: ptr({ Network: str }),
  Options: stringMap,
  Labels: stringMap,
  CheckDuplicate: nullable(bool),
});

/** POST /networks/{id}/connect: network.ConnectOptions. */
export const networkConnectBody = struct({ Container: str, EndpointConfig: endpointSettings });

/** POST /networks/{id}/disconnect: network.DisconnectOptions. */
export const networkDisconnectBody = struct({ Container: str, Force: bool });

/** POST /volumes/create: volume.CreateOptions (cluster volumes are swarm's; accepted and ignored). */
export const volumeCreateBody = struct({ Name: str, Driver: str, DriverOpts: stringMap, Labels: stringMap, ClusterVolumeSpec: any });

/** POST /auth: registry.AuthConfig (lower-case JSON names). */
export const authConfigBody = struct({
  username: str,
  password: str,
  auth: str,
  email: str,
  serveraddress: str,
  identitytoken: str,
  registrytoken: str,
});
