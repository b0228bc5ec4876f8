/**
 * @module engine/network/embedded-dns
 * dockerd's `nameserver 127.0.0.11` for containers on user-defined networks.
 * dockerd runs its resolver inside each container's namespace and DNATs
 * 127.0.0.11:53 to it there. berth's resolver is one aardvark-dns on the
 * host, listening on each network's gateway, so the container's namespace
 * gets the address dockerd shows and rules that carry it to aardvark:
 *
 *   nat OUTPUT       127.0.0.11:53 (udp)  → DNAT to <gateway>:53 (Debian's
 *                    aardvark 1.4 answers UDP only: TCP on 127.0.0.11:53 is
 *                    berthd's relay, ./embedded-dns-tcp.ts)
 *   nat POSTROUTING  from 127/8 to <gateway>:53 → MASQUERADE, i.e. the
 *                    container's address on that network: aardvark answers
 *                    by who asks (the asker's networks scope the names), and
 *                    a loopback source could not leave the namespace anyway
 *   raw PREROUTING   anything for 127/8 arriving on another interface than
 *                    lo → DROP
 *
 * A loopback address may only be routed out of (and its replies back into)
 * the namespace with `route_localnet`; the raw rule takes back what that
 * would otherwise allow, a neighbour on the bridge addressing the
 * container's loopback services. The rules are one `iptables-restore` run in
 * the namespace (the nat and raw tables there are berth's alone), repeated
 * to re-point them when the network they use is disconnected. They need
 * only the gateway, so a new namespace gets them from the process that
 * makes it, before CNI wires the interfaces (a process of its own costs
 * ~10 ms on the path of every start).
 */
import { run } from '../../util/exec.js';
import type { NetnsSetup } from './netns.js';

/** The address dockerd's embedded resolver has in every container on a user-defined network. */
export const EMBEDDED_DNS = '127.0.0.11';

function ruleset(gateway: string | undefined): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  if (gateway) {
    lines.push(`-A OUTPUT -d ${EMBEDDED_DNS}/32 -p udp -m udp --dport 53 -j DNAT --to-destination ${gateway}:53`);
    lines.push(`-A POSTROUTING -s 127.0.0.0/8 -d ${gateway}/32 -p udp -m udp --dport 53 -j MASQUERADE`);
  }
  lines.push('COMMIT', '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING ! -i lo -d 127.0.0.0/8 -j DROP', 'COMMIT', '');
  return lines.join('\n');
}

/** The script that sets the rules (ruleset() on its standard input) in the namespace it runs in. */
const SET_RULES = 'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && exec iptables-restore -w';

/**
 * The rules for a namespace being made (./netns.ts NetnsStore.create): set
 * by the process that makes it, which spares a process on every start.
 */
export function embeddedDnsSetup(gateway: string): NetnsSetup {
  return { script: SET_RULES, input: ruleset(gateway) };
}

/** Points 127.0.0.11 in the namespace at aardvark on `gateway` (or nowhere, when the container has left every user network). */
export async function pointEmbeddedDns(netns: string, gateway: string | undefined): Promise<void> {
  const r = await run('nsenter', [`--net=${netns}`, 'sh', '-c', SET_RULES], { input: ruleset(gateway), allowFailure: true });
  if (r.code !== 0) throw new Error(`setting up the embedded DNS address ${EMBEDDED_DNS}: ${r.stderr.trim() || `exit status ${r.code}`}`);
}
