// The strings docker ps shows for containers: the column helpers
// (docker/cli cli/command/formatter/container.go and displayutils.go).

import { goQuote } from '../../common/gofmt.js';
import { isWide } from './table.js';
import { humanDuration } from '../../common/units.js';

// time.Time{} as a Unix time: Go's IsZero() is true only for this instant.
const GO_ZERO_TIME_MS = -62135596800000;

/**
 * The CREATED column of docker ps / docker images: HumanDuration since the
 * Unix timestamp plus " ago", e.g. "2 minutes ago".
 */
export function createdAgo(unixSeconds: number, now: Date = new Date()): string {
  // images.CreatedSince returns "" for time.Time's zero value
  if (unixSeconds * 1000 === GO_ZERO_TIME_MS) return '';
  return humanDuration(now.getTime() - unixSeconds * 1000) + ' ago';
}

/** x/text/width: East Asian Wide and Fullwidth count as two columns, everything else as one. */
function charWidth(cp: number): number {
  return isWide(cp) ? 2 : 1;
}

/**
 * docker/cli formatter.Ellipsis: cut s to maxDisplayWidth columns, ending in
 * "…" when something was cut.
 */
export function ellipsis(s: string, maxDisplayWidth: number): string {
  if (maxDisplayWidth <= 0) return '';
  const rs = Array.from(s);
  if (maxDisplayWidth === 1) return rs[0] ?? '';
  const byteLen = Buffer.byteLength(s, 'utf8');
  if (byteLen === rs.length) {
    if (byteLen <= maxDisplayWidth) return s;
    return rs.slice(0, maxDisplayWidth - 1).join('') + '…';
  }
  const display: number[] = [];
  let displayWidth = 0;
  for (const r of rs) {
    displayWidth += charWidth(r.codePointAt(0) as number);
    display.push(displayWidth);
  }
  if (displayWidth <= maxDisplayWidth) return s;
  for (let i = 0; i < display.length - 1; i++) {
    if (display[i] <= maxDisplayWidth - 1 && display[i + 1] > maxDisplayWidth - 1) {
      return rs.slice(0, i + 1).join('') + '…';
    }
  }
  return s;
}

/**
 * The COMMAND column: Go-quoted, and cut to 20 columns with "…" unless
 * --no-trunc (pass width = Infinity, or any non-finite width, to not cut).
 */
export function truncateCommand(cmd: string, width = 20): string {
  const c = Number.isFinite(width) ? ellipsis(cmd, width) : cmd;
  return goQuote(c);
}

/** stringid.TruncateID: drop any "algo:" prefix and keep 12 characters. */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  if (i >= 0) id = id.slice(i + 1);
  return id.length > 12 ? id.slice(0, 12) : id;
}

export interface PortLike {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** net.JoinHostPort: brackets around hosts containing a colon (IPv6). */
function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function formGroup(key: string, start: number, last: number): string {
  const parts = key.split('/');
  let groupType = parts[0];
  let ip = '';
  if (parts.length > 1) {
    ip = parts[0];
    groupType = parts[1];
  }
  let group = String(start);
  if (start !== last) group = `${group}-${last}`;
  if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${groupType}`;
}

function comparePorts(a: PortLike, b: PortLike): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  const ai = a.IP ?? '';
  const bi = b.IP ?? '';
  if (ai !== bi) return ai < bi ? -1 : 1;
  const ap = a.PublicPort ?? 0;
  const bp = b.PublicPort ?? 0;
  if (ap !== bp) return ap - bp;
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

/**
 * The PORTS column (formatter.DisplayablePorts): published ports whose host
 * port equals the container port are grouped into ranges per IP and protocol,
 * e.g. "0.0.0.0:8080->8080/tcp, [::]:8080->8080/tcp, 9000-9001/udp"; other
 * mappings are listed after them as "0.0.0.0:8080->80/tcp".
 */
export function formatPorts(ports: PortLike[]): string {
  const groupMap = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const groupMapKeys: string[] = [];
  const sorted = [...ports].sort(comparePorts);

  for (const port of sorted) {
    const current = port.PrivatePort;
    let portKey = port.Type;
    if (port.IP) {
      const pub = port.PublicPort ?? 0;
      if (pub !== current) {
        hostMappings.push(`${joinHostPort(port.IP, String(pub))}->${port.PrivatePort}/${port.Type}`);
        continue;
      }
      portKey = `${port.IP}/${port.Type}`;
    }
    const group = groupMap.get(portKey);
    if (!group) {
      groupMap.set(portKey, { first: current, last: current });
      // remember the order in which groups were started
      groupMapKeys.push(portKey);
      continue;
    }
    if (current === group.last + 1) {
      group.last = current;
      continue;
    }
    result.push(formGroup(portKey, group.first, group.last));
    groupMap.set(portKey, { first: current, last: current });
  }
  for (const key of groupMapKeys) {
    const g = groupMap.get(key) as { first: number; last: number };
    result.push(formGroup(key, g.first, g.last));
  }
  result.push(...hostMappings);
  return result.join(', ');
}
