/**
 * Host network state that network tests change and must put back: the
 * bridge they name, and the iptables rules and chains CNI's portmap (and the
 * bridge plugin, with masquerading) leave behind — shared top-level chains
 * stay after the last container is gone, as Docker's do. Whole nftables
 * tables that did not exist before are removed again. Also the setup the
 * network tests share: a daemon started and emptied around a test file, and
 * networks whose traffic cannot leave the machine.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { docker, startDaemonWithBusybox, type TestDaemon } from './daemon.js';

const execFileP = promisify(execFile);

export interface HostNetSnapshot {
  tables: Set<string>;
  rules: Map<string, Set<string>>;
}

async function tables(): Promise<Set<string>> {
  const { stdout } = await execFileP('nft', ['list', 'tables']).catch(() => ({ stdout: '' }));
  return new Set(stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('table ')));
}

async function ruleSpecs(cmd: 'iptables' | 'ip6tables', table: string): Promise<string[]> {
  const { stdout } = await execFileP(cmd, ['-w', '-t', table, '-S']).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean);
}

const TARGETS = [['iptables', 'nat'], ['iptables', 'filter'], ['ip6tables', 'nat'], ['ip6tables', 'filter']] as const;

export async function snapshotHostNet(): Promise<HostNetSnapshot> {
  const rules = new Map<string, Set<string>>();
  for (const [cmd, table] of TARGETS) rules.set(`${cmd} ${table}`, new Set(await ruleSpecs(cmd, table)));
  return { tables: await tables(), rules };
}

/** Deletes the bridge and every rule, chain and table that appeared since `before`. */
export async function restoreHostNet(before: HostNetSnapshot, bridge: string): Promise<void> {
  await execFileP('ip', ['link', 'del', bridge]).catch(() => undefined);
  for (const [cmd, table] of TARGETS) {
    const had = before.rules.get(`${cmd} ${table}`) ?? new Set();
    const now = await ruleSpecs(cmd, table);
    // Rules first (they may jump to new chains), then the chains themselves.
    for (const spec of now.filter((r) => r.startsWith('-A ') && !had.has(r))) {
      await execFileP(cmd, ['-w', '-t', table, '-D', ...splitSpec(spec.slice(3))]).catch(() => undefined);
    }
    for (const spec of now.filter((r) => r.startsWith('-N ') && !had.has(r))) {
      const chain = spec.slice(3).trim();
      await execFileP(cmd, ['-w', '-t', table, '-F', chain]).catch(() => undefined);
      await execFileP(cmd, ['-w', '-t', table, '-X', chain]).catch(() => undefined);
    }
  }
  for (const t of await tables()) {
    if (!before.tables.has(t)) await execFileP('nft', ['delete', ...t.split(/\s+/)]).catch(() => undefined);
  }
}

/** Splits an `iptables -S` rule into arguments, keeping quoted comments whole. */
function splitSpec(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!);
  return out;
}

/** Fails the test unless the command succeeded; its output, trimmed. */
export async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const x = await r;
  assert.equal(x.code, 0, x.stderr);
  return x.stdout.trim();
}

/** `docker network inspect`'s fields the tests read. */
export interface NetInspect {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Containers: Record<string, { Name: string; IPv4Address: string; IPv6Address: string; MacAddress: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

type Cli = (d: TestDaemon, args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/**
 * A berthd for network tests, started before the file's tests and, after
 * them, emptied of containers and networks and stopped; the host's rules,
 * chains and the bridges the tests made are put back as they were.
 */
export class NetworkTestBed {
  d!: TestDaemon;
  private hostNet?: HostNetSnapshot;
  /** Bridges the tests made (deleted at the end even if their network was not). */
  readonly bridges = new Set<string>();
  private refuser?: TestResolver;

  constructor(
    private readonly daemonArgs: string[] = [],
    /** The default bridge the daemon is given (`--bridge`), or 'none'. */
    private readonly defaultBridge = 'none',
  ) {
    before(async () => {
      this.hostNet = await snapshotHostNet();
      this.d = await startDaemonWithBusybox(this.daemonArgs);
    });
    after(async () => {
      const d = this.d;
      if (d) {
        const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
        if (ids.length) await docker(d, ['rm', '-f', ...ids]);
        const nets = (await docker(d, ['network', 'ls', '-q', '--filter', 'type=custom'])).stdout.split('\n').filter(Boolean);
        if (nets.length) await docker(d, ['network', 'rm', ...nets]);
        await d.cleanup();
      }
      await this.refuser?.stop();
      for (const br of this.bridges) await execFileP('ip', ['link', 'del', br]).catch(() => undefined);
      if (this.hostNet) await restoreHostNet(this.hostNet, this.defaultBridge);
    });
  }

  /**
   * `--dns` arguments for containers on user networks: aardvark forwards
   * every name that is not a container's (a name a test expects NOT to
   * resolve, a search-domain suffix, an AAAA it has no answer for) to the
   * asking container's --dns servers, else to the host's resolvers, which
   * are off the machine. This is dnsmasq on a loopback address refusing
   * everything, started at the first call and stopped after the file.
   */
  async quietDns(): Promise<string[]> {
    this.refuser ??= await startResolver([QUIET_DNS], {});
    return ['--dns', QUIET_DNS];
  }

  /** The quiet resolver's query log: a name a test saw not resolve was asked here, not elsewhere. */
  async quietLog(): Promise<string> {
    return (await this.refuser?.log()) ?? '';
  }

  async inspect(name: string): Promise<NetInspect> {
    return (JSON.parse(await ok(docker(this.d, ['network', 'inspect', name]))) as NetInspect[])[0]!;
  }

  /**
   * Creates a network through `cli` (its name last in `args`) and keeps its
   * traffic on the machine: anything leaving its bridge for another
   * interface is dropped before berth's rules see it. `toBridges`: only
   * traffic towards non-bridge interfaces (`br…`) is dropped, so that a test
   * can watch berth's isolation stop what goes from one bridge to another.
   */
  async createNet(args: string[], cli: Cli = docker, toBridges = false): Promise<NetInspect> {
    await ok(cli(this.d, ['network', 'create', ...args]));
    const n = await this.inspect(args.at(-1)!);
    await this.guard(n.Options['com.docker.network.bridge.name'] || `br-${n.Id.slice(0, 12)}`, toBridges);
    return n;
  }

  /** The egress DROP of createNet() for a bridge made otherwise. */
  async guard(br: string, toBridges = false): Promise<void> {
    this.bridges.add(br);
    for (const cmd of ['iptables', 'ip6tables']) await execFileP(cmd, ['-w', '-I', 'FORWARD', '-i', br, '!', '-o', toBridges ? 'br+' : br, '-j', 'DROP']);
  }
}

/** The refusing resolver's address (network-dns and network-links use .153 and .154). */
export const QUIET_DNS = '127.0.0.155';

/** A DNS server on test addresses (Debian's dnsmasq), so that no test query leaves the machine. */
export interface TestResolver {
  /** Its query log (`query[A] NAME from ADDRESS` lines). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * dnsmasq listening on `addresses` (:53), answering `answers` (name → IPv4),
 * NXDOMAIN for names under `nxDomains`, REFUSED (at once) for anything else.
 * --bind-dynamic: an address may appear after it starts (a bridge berthd is
 * setting up).
 */
export async function startResolver(addresses: string[], answers: Record<string, string>, nxDomains: string[] = []): Promise<TestResolver> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-dns-'));
  const logFile = path.join(dir, 'queries.log');
  const proc = spawn('dnsmasq', [
    '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-dynamic', '-u', 'root', '--port=53',
    `--listen-address=${addresses.join(',')}`,
    ...Object.entries(answers).map(([name, ip]) => `--address=/${name}/${ip}`),
    ...nxDomains.map((d) => `--local=/${d}/`),
    '--log-queries', `--log-facility=${logFile}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<boolean>((res) => proc.once('exit', () => res(true)));
  const log = () => fsp.readFile(logFile, 'utf8').catch(() => '');
  const stop = async () => {
    if (proc.exitCode === null && proc.pid) {
      process.kill(proc.pid, 'SIGTERM');
      await exited;
    }
    await fsp.rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    if ((await log()).includes('cleared cache')) return { log, stop };
    if (await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 100))])) break;
  }
  const why = `${stderr}${await log()}`;
  await stop();
  throw new Error(`dnsmasq did not start: ${why}`);
}

/**
 * What containers hold on the default bridge `bridge` of the daemon whose
 * exec root is `execRoot`: address leases of containers (by address), and
 * the veths on the bridge beyond those of the daemon's spare namespaces,
 * which are wired ahead and hold a lease of their own under a
 * `berth-spare-` ID (engine/network/netns-kinds.ts). Both empty once every
 * container is gone.
 */
export async function bridgeHeld(execRoot: string, bridge: string): Promise<{ leases: string[]; veths: number }> {
  const dir = path.join(execRoot, 'ipam', `berth-${bridge}`);
  const leases: string[] = [];
  let spares = 0;
  for (const f of (await fsp.readdir(dir).catch(() => [] as string[])).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))) {
    const owner = (await fsp.readFile(path.join(dir, f), 'utf8').catch(() => '')).split(/\r?\n/)[0]!;
    if (owner.startsWith('berth-spare-')) spares++;
    else leases.push(f);
  }
  const { stdout } = await execFileP('ip', ['-o', 'link', 'show', 'master', bridge]);
  return { leases, veths: stdout.split('\n').filter(Boolean).length - spares };
}
