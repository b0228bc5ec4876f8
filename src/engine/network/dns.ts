/**
 * @module engine/network/dns
 * Name resolution on user-defined networks through Debian's `aardvark-dns`,
 * podman's DNS server, driven the way netavark drives it: one process for all
 * networks, reading a directory with one file per network (first line: the
 * addresses to listen on, the network's gateway; then one line per container:
 * `<id> <ipv4s> <ipv6s> <names> [<upstream servers>]`), re-read on SIGHUP. It answers a container
 * only with the containers of the networks the asking address belongs to,
 * which is dockerd's scoping, and forwards every other name to the host's
 * resolvers. It daemonizes itself and writes `aardvark.pid` in the directory.
 *
 * Why a separate server rather than one in berthd: it is maintained, already
 * has the per-network scoping and forwarding dockerd's embedded resolver has,
 * and it keeps answering while berthd restarts.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { run } from '../../util/exec.js';
import { Mutex } from '../../util/mutex.js';

export const AARDVARK_BINARY = '/usr/lib/podman/aardvark-dns';

/** One container's entry on a network. */
export interface DnsEntry {
  id: string;
  ip: string;
  ipv6?: string;
  names: string[];
  /** The container's --dns servers: aardvark forwards its other names there rather than to the host's resolvers. */
  servers?: string[];
}

/** One container line: `<id> <ipv4> <ipv6> <names> [<servers>]`. */
function line(id: string, ip: string, names: string[], servers: string[] | undefined, ipv6 = ''): string {
  // aardvark refuses the whole file for one address it cannot parse.
  const valid = (servers ?? []).filter((x) => isIP(x) !== 0);
  return `${id} ${ip} ${ipv6} ${[...new Set(names)].join(',')}${valid.length ? ` ${valid.join(',')}` : ''}`;
}

/** aardvark's files berth writes: one per network, named by its ID. */
const FILE = /^[0-9a-f]{64}$/;

export class DnsServer {
  private readonly lock = new Mutex();

  constructor(
    /** aardvark's configuration directory (exec root: it dies with the containers at reboot). */
    readonly dir: string,
    readonly binary = AARDVARK_BINARY,
  ) {}

  get available(): boolean {
    return existsSync(this.binary);
  }

  /** Writes a network's file (or removes it when `gateway` is undefined) and has aardvark re-read them all. */
  async update(networkId: string, gateway: string | undefined, entries: DnsEntry[]): Promise<void> {
    if (!this.available) return;
    await this.lock.run(async () => {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const file = path.join(this.dir, networkId);
      // A network's file lives as long as the network, containers or not: aardvark is then up before
      // the first container starts, rather than spawned on that start's path.
      if (gateway === undefined) {
        await fsp.rm(file, { force: true });
      } else {
        const lines = [gateway, ...entries.map((e) => line(e.id, e.ip, e.names, e.servers, e.ipv6))];
        await this.writeFile(networkId, lines);
      }
      await this.reload();
    });
  }

  private async writeFile(name: string, lines: string[]): Promise<void> {
    // Written beside the directory: aardvark reads every file in it, a temp file too.
    const tmp = `${this.dir}.${name}.tmp`;
    await fsp.writeFile(tmp, `${lines.join('\n')}\n`);
    await fsp.rename(tmp, path.join(this.dir, name));
  }

  /** Keeps only the files of `networkIds` (daemon start); the caller then writes them. */
  async retain(networkIds: Set<string>): Promise<void> {
    if (!this.available) return;
    await this.lock.run(async () => {
      for (const f of await fsp.readdir(this.dir).catch(() => [] as string[])) {
        if (FILE.test(f) && !networkIds.has(f)) await fsp.rm(path.join(this.dir, f), { force: true });
      }
      await this.reload();
    });
  }

  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(this.dir, 'aardvark.pid'), 'utf8').trim());
      if (!(pid > 0)) return undefined;
      // The PID file may outlive the process, and the PID be reused: check it is aardvark.
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      return comm.startsWith('aardvark') ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGHUP to a running aardvark, a new one when there is none; stopped when no network is left. */
  private async reload(): Promise<void> {
    const files = (await fsp.readdir(this.dir).catch(() => [] as string[])).filter((f) => FILE.test(f));
    const pid = this.pid();
    if (files.length === 0) {
      if (pid) process.kill(pid, 'SIGTERM');
      await fsp.rm(path.join(this.dir, 'aardvark.pid'), { force: true });
      return;
    }
    if (pid) {
      process.kill(pid, 'SIGHUP');
      return;
    }
    // aardvark forks into the background once its listeners are up, and returns.
    await run(this.binary, ['--config', this.dir, '-p', '53', 'run'], { allowFailure: true });
  }
}
