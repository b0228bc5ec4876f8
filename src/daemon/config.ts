/**
 * berthd's configuration: dockerd's flag names, and the same keys in the JSON
 * config file (default /etc/berth/daemon.json). Flags win over the file.
 */
import { promises as fsp } from 'node:fs';
import { Command, Option } from 'commander';
import { validateMirror } from '../engine/distribution/hosts.js';
import { logRotation, validateLogOptNames, type LogDefaults } from '../engine/logs/driver.js';

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  debug: boolean;
  configFile: string;
  seccompProfile?: string;
  /** `--userns-remap`: "default", "user", "user:group", "uid" or "uid:gid". */
  usernsRemap?: string;
  /** The default bridge's interface name; "none" turns the default network off. */
  bridge: string;
  bip?: string;
  ipMasq: boolean;
  ipForward: boolean;
  iptables: boolean;
  tls: boolean;
  /** `--tls=false` given: plain TCP was asked for on purpose. */
  tlsDisabled: boolean;
  tlsverify: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  /** `registry-mirrors`: docker.io pull-through mirrors, validated URLs. */
  registryMirrors: string[];
  /** `insecure-registries`: host[:port] or CIDR. */
  insecureRegistries: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  maxDownloadAttempts: number;
  /** One second of the download retry countdown, in ms (1000; tests shorten it). */
  downloadRetryTickMs: number;
  /** `log-driver` and `log-opts`: what containers get when they name no driver. */
  logDefaults: LogDefaults;
}

/** daemon.json keys berth understands (dockerd's names). */
interface FileConfig {
  hosts?: string[];
  'data-root'?: string;
  'exec-root'?: string;
  pidfile?: string;
  debug?: boolean;
  'seccomp-profile'?: string;
  'userns-remap'?: string;
  bridge?: string;
  bip?: string;
  'ip-masq'?: boolean;
  'ip-forward'?: boolean;
  iptables?: boolean;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
  'max-concurrent-downloads'?: number;
  'max-concurrent-uploads'?: number;
  'max-download-attempts'?: number;
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
}

export const DEFAULTS = {
  host: 'unix:///run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  pidfile: '/run/berth/berthd.pid',
  configFile: '/etc/berth/daemon.json',
  /** dockerd's is docker0; a name of our own lets both daemons live on one host. */
  bridge: 'berth0',
};

/** dockerd's boolean flags: `--flag`, `--flag=true`, `--flag=false`. */
const boolFlag = (v: string) => v !== 'false';

export class ConfigError extends Error {}

export async function parseDaemonArgs(argv: string[]): Promise<DaemonConfig> {
  const cmd = new Command('berthd')
    .description('berth daemon: a container engine serving the Docker Engine API')
    .option('-H, --host <host>', 'daemon socket(s) to connect to (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--data-root <dir>', 'root directory of persistent berth state', undefined)
    .option('--exec-root <dir>', 'root directory for execution state files', undefined)
    .option('-p, --pidfile <file>', 'path to use for daemon PID file')
    .option('-D, --debug', 'enable debug mode')
    .option('--config-file <file>', 'daemon configuration file', DEFAULTS.configFile)
    .option('--seccomp-profile <file>', 'path to seccomp profile')
    .option('--userns-remap <user/group>', 'user/group setting for user namespaces')
    .option('-b, --bridge <name>', `attach containers to a network bridge ("none" disables the default network; default "${DEFAULTS.bridge}")`)
    .option('--bip <cidr>', 'IPv4 address and prefix of the default bridge')
    .addOption(new Option('--ip-masq [bool]', 'enable IP masquerading for the default bridge (default true)').argParser(boolFlag))
    .addOption(new Option('--ip-forward [bool]', 'enable net.ipv4.ip_forward (default true)').argParser(boolFlag))
    .addOption(new Option('--iptables [bool]', 'enable iptables rules: needed to publish ports (default true)').argParser(boolFlag))
    .addOption(new Option('--tls [bool]', 'use TLS; implied by --tlsverify').argParser((v) => v !== 'false'))
    .addOption(new Option('--tlsverify [bool]', 'use TLS and verify the remote').argParser((v) => v !== 'false'))
    .option('--tlscacert <file>', 'trust certs signed only by this CA')
    .option('--tlscert <file>', 'path to TLS certificate file')
    .option('--tlskey <file>', 'path to TLS key file')
    .option('--registry-mirror <url>', 'preferred registry mirror (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--insecure-registry <host>', 'enable insecure registry communication (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--max-concurrent-downloads <n>', 'set the max concurrent downloads (default 3)', positiveInt)
    .option('--max-concurrent-uploads <n>', 'set the max concurrent uploads (default 5)', positiveInt)
    .option('--log-driver <string>', 'default driver for container logs (json-file, local, none)')
    .option('--log-opt <key=value>', 'default log driver options for containers (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--max-download-attempts <n>', 'set the max download attempts for each pull (default 5)', positiveInt)
    // Tests only, as moby's tests shorten the download manager's waitDuration: the tick of "Retrying in N seconds".
    .addOption(new Option('--download-retry-tick-ms <n>').argParser(positiveInt).hideHelp())
    .version('berthd 0.1.0', '-v, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{
    host?: string[];
    dataRoot?: string;
    execRoot?: string;
    pidfile?: string;
    debug?: boolean;
    configFile: string;
    seccompProfile?: string;
    usernsRemap?: string;
    bridge?: string;
    bip?: string;
    ipMasq?: boolean;
    ipForward?: boolean;
    iptables?: boolean;
    tls?: boolean;
    tlsverify?: boolean;
    tlscacert?: string;
    tlscert?: string;
    tlskey?: string;
    registryMirror?: string[];
    insecureRegistry?: string[];
    maxConcurrentDownloads?: number;
    maxConcurrentUploads?: number;
    maxDownloadAttempts?: number;
    downloadRetryTickMs?: number;
    logDriver?: string;
    logOpt?: string[];
  }>();
  const explicitConfig = cmd.getOptionValueSource('configFile') === 'cli';
  let file: FileConfig = {};
  try {
    file = JSON.parse(await fsp.readFile(o.configFile, 'utf8')) as FileConfig;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || explicitConfig) {
      throw new ConfigError(`unable to configure the daemon with file ${o.configFile}: ${(err as Error).message}`);
    }
  }
  if (o.host && file.hosts) {
    throw new ConfigError(
      `the following directives are specified both as a flag and in the configuration file: hosts: (from flag: [${o.host.join(' ')}], from file: [${file.hosts.join(' ')}])`,
    );
  }
  const execRoot = o.execRoot ?? file['exec-root'] ?? DEFAULTS.execRoot;
  return {
    hosts: o.host ?? file.hosts ?? [DEFAULTS.host],
    dataRoot: o.dataRoot ?? file['data-root'] ?? DEFAULTS.dataRoot,
    execRoot,
    pidfile: o.pidfile ?? file.pidfile ?? DEFAULTS.pidfile,
    debug: o.debug ?? file.debug ?? false,
    configFile: o.configFile,
    seccompProfile: o.seccompProfile ?? file['seccomp-profile'],
    usernsRemap: o.usernsRemap ?? (file['userns-remap'] || undefined),
    bridge: o.bridge ?? file.bridge ?? DEFAULTS.bridge,
    bip: o.bip ?? file.bip,
    ipMasq: o.ipMasq ?? file['ip-masq'] ?? true,
    ipForward: o.ipForward ?? file['ip-forward'] ?? true,
    iptables: o.iptables ?? file.iptables ?? true,
    tls: o.tls ?? file.tls ?? false,
    tlsDisabled: o.tls === false || (o.tls === undefined && file.tls === false),
    tlsverify: o.tlsverify ?? file.tlsverify ?? false,
    tlscacert: o.tlscacert ?? file.tlscacert,
    tlscert: o.tlscert ?? file.tlscert,
    tlskey: o.tlskey ?? file.tlskey,
    // dockerd merges list flags with the file's lists.
    registryMirrors: mirrors([...(file['registry-mirrors'] ?? []), ...(o.registryMirror ?? [])]),
    insecureRegistries: [...(file['insecure-registries'] ?? []), ...(o.insecureRegistry ?? [])],
    maxConcurrentDownloads: o.maxConcurrentDownloads ?? file['max-concurrent-downloads'] ?? 3,
    maxConcurrentUploads: o.maxConcurrentUploads ?? file['max-concurrent-uploads'] ?? 5,
    maxDownloadAttempts: o.maxDownloadAttempts ?? file['max-download-attempts'] ?? 5,
    downloadRetryTickMs: o.downloadRetryTickMs ?? 1000,
    logDefaults: logDefaults(o.logDriver ?? file['log-driver'], o.logOpt ? logOptFlags(o.logOpt) : file['log-opts']),
  };
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`invalid value "${v}": must be a positive integer`);
  return n;
}

function mirrors(list: string[]): string[] {
  try {
    return list.map(validateMirror);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** `--log-opt k=v` flags as a map (dockerd: a flag without `=` is an error). */
function logOptFlags(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new ConfigError(`invalid key/value pair format in config file: ${kv}`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/**
 * The default log driver and options, checked as dockerd checks them at
 * start (option names), and their values as at a container's create, so a
 * bad default stops the daemon rather than every container.
 */
function logDefaults(driver: string | undefined, opts: Record<string, string> | undefined): LogDefaults {
  const d: LogDefaults = { Type: driver || 'json-file', Config: { ...(opts ?? {}) } };
  try {
    validateLogOptNames(d.Type, d.Config);
    if (d.Type === 'none' && Object.keys(d.Config).length) throw new Error('logging opts for driver none are not allowed');
    logRotation(d.Type, d.Config);
  } catch (err) {
    throw new ConfigError(`failed to set log opts: ${(err as Error).message}`);
  }
  return d;
}
