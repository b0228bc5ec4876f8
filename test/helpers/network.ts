/**
 * Host network state that network tests change and must put back: the
 * bridge they name, and the iptables rules and chains CNI's portmap (and the
 * bridge plugin, with masquerading) leave behind — shared top-level chains
 * stay after the last container is gone, as Docker's do. Whole nftables
 * tables that did not exist before are removed again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
