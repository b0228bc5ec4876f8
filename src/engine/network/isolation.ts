/**
 * @module engine/network/isolation
 * The FORWARD chains berth's bridges share, dockerd's design under berth's
 * names: FORWARD jumps first to BERTH-FORWARD, whose first rule jumps to
 * BERTH-ISOLATION-STAGE-1. Each bridge adds, in STAGE-1, "in on me and out on
 * another interface: check STAGE-2", and in STAGE-2 "out on me: DROP"; so a
 * packet routed from one berth bridge to another (network A to network B, a
 * user network to the default bridge) is dropped, while traffic to the
 * outside or within one bridge goes on. Rules are appended after the
 * isolation jump so that no bridge's ACCEPT can precede the check.
 *
 * A network with IPv6 gets the same chains and rules from ip6tables, as
 * dockerd (20.10+ with ip6tables on, the default since v27) makes them in
 * both families: without them a container on an `--ipv6` network could
 * reach another network, or leave an `--internal` one, over IPv6.
 */
import { run } from '../../util/exec.js';

export const FORWARD_CHAIN = 'BERTH-FORWARD';
export const ISOLATION_1 = 'BERTH-ISOLATION-STAGE-1';
export const ISOLATION_2 = 'BERTH-ISOLATION-STAGE-2';

/** The isolation rules of one bridge (dockerd's), as [table, chain, …match and target]. */
export function isolationRules(br: string, tag: string[]): string[][] {
  return [
    ['filter', ISOLATION_1, '-i', br, '!', '-o', br, ...tag, '-j', ISOLATION_2],
    ['filter', ISOLATION_2, '-o', br, ...tag, '-j', 'DROP'],
  ];
}

/** The command of an address family's rules. */
export type Iptables = 'iptables' | 'ip6tables';

async function iptables(args: string[], cmd: Iptables): Promise<void> {
  await run(cmd, ['-w', ...args], { allowFailure: true });
}

/**
 * berth's FORWARD chains, made once and kept: FORWARD → BERTH-FORWARD →
 * BERTH-ISOLATION-STAGE-1 first. Idempotent; each check is an iptables run.
 */
export async function ensureForwardChains(cmd: Iptables = 'iptables'): Promise<void> {
  for (const chain of [FORWARD_CHAIN, ISOLATION_1, ISOLATION_2]) {
    await run(cmd, ['-w', '-t', 'filter', '-N', chain], { allowFailure: true });
  }
  const jumps: [string, string][] = [
    [FORWARD_CHAIN, ISOLATION_1],
    ['FORWARD', FORWARD_CHAIN],
  ];
  for (const [from, to] of jumps) {
    const present = await run(cmd, ['-w', '-t', 'filter', '-C', from, '-j', to], { allowFailure: true });
    if (present.code !== 0) await iptables(['-t', 'filter', '-I', from, '1', '-j', to], cmd);
  }
}

/** Adds the rules that are not there yet (appended: after the isolation jump). */
export async function addRules(list: string[][], cmd: Iptables = 'iptables'): Promise<void> {
  for (const r of list) {
    const [table, chain, ...spec] = r as [string, string, ...string[]];
    const present = await run(cmd, ['-w', '-t', table, '-C', chain, ...spec], { allowFailure: true });
    if (present.code !== 0) await iptables(['-t', table, '-A', chain, ...spec], cmd);
  }
}
