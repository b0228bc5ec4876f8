/**
 * @module engine/distribution/hosts
 * Where a registry is reached and how: dockerd's registry service
 * (registry/config.go, registry/service_v2.go) in small.
 * - docker.io is served by registry-1.docker.io; pulls try each
 *   `registry-mirrors` entry first, then the origin (mirrors never see pushes).
 * - A registry is *insecure* when listed in `insecure-registries` (host[:port]
 *   or a CIDR) or when it is on loopback (dockerd marks 127.0.0.0/8 insecure
 *   by default): HTTPS without verification is tried first, then plain HTTP.
 * - TLS material for a host comes from `<certs.d>/<host[:port]>/`: every
 *   `*.crt` is a CA, `*.cert` + `*.key` a client certificate (dockerd's
 *   registry.ReadCertsDirectory), read at each use so a dropped-in file works
 *   without a restart.
 */
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const DEFAULT_REGISTRY = 'docker.io';
/** Where docker.io's distribution API lives. */
export const DOCKER_IO_ENDPOINT = 'registry-1.docker.io';
/** The name credentials for docker.io are stored under (the docker CLI's and dockerd's IndexServer). */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

export interface RegistryOptions {
  /** `registry-mirrors`: URLs of docker.io pull-through mirrors, in order. */
  mirrors: string[];
  /** `insecure-registries`: host[:port] names or CIDRs. */
  insecure: string[];
  /** Directory of per-host TLS material (`<config dir>/certs.d`). */
  certsDir: string;
  /** Parallel layer downloads per pull (dockerd's default 3). */
  maxConcurrentDownloads: number;
  /** Parallel layer uploads per push (dockerd's default 5). */
  maxConcurrentUploads: number;
  /** Retries of a failed layer download (dockerd's default 5): a layer is tried at most this + 1 times. */
  maxDownloadAttempts: number;
  /** One second of the retry countdown, in ms (moby's waitDuration; tests shorten it). */
  retryTickMs?: number;
}

export interface TlsMaterial {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
}

/** One base URL a repository can be reached at. */
export interface Endpoint {
  /** e.g. https://127.0.0.1:5000 (no trailing slash). */
  url: string;
  /** The registry's name as references spell it (docker.io, 127.0.0.1:5000). */
  registry: string;
  mirror: boolean;
  /** Skip certificate verification (an insecure registry over HTTPS). */
  skipVerify: boolean;
  tls: TlsMaterial;
}

/** Validates and normalises a mirror URL as dockerd's ValidateMirror does. */
export function validateMirror(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`invalid mirror: "${v}" is not a valid URI`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`invalid mirror: unsupported scheme "${u.protocol.replace(/:$/, '')}" in "${v}"`);
  if (u.search || u.hash) throw new Error(`invalid mirror: query or fragment at end of the URI "${v}"`);
  if (u.username || u.password) throw new Error(`invalid mirror: username/password not allowed in URI "${v}"`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

function hostOf(registry: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  if (m) return m[1]!;
  return registry.replace(/:\d+$/, '');
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsS] = cidr.split('/');
  const bits = Number(bitsS);
  if (!base || !Number.isInteger(bits)) return false;
  const family = net.isIPv4(base) ? 'ipv4' : net.isIPv6(base) ? 'ipv6' : undefined;
  if (!family || (family === 'ipv4') !== net.isIPv4(ip)) return false;
  const list = new net.BlockList();
  list.addSubnet(base, bits, family);
  return list.check(ip, family);
}

/** dockerd's isSecureIndex, inverted: is this registry reached without TLS verification? */
export function isInsecure(registry: string, opts: Pick<RegistryOptions, 'insecure'>): boolean {
  if (opts.insecure.includes(registry)) return true;
  const host = hostOf(registry);
  if (host === 'localhost') return true;
  if (!net.isIP(host)) return false;
  if (inCidr(host, '127.0.0.0/8') || host === '::1') return true;
  return opts.insecure.some((c) => c.includes('/') && inCidr(host, c));
}

/** Reads `<certsDir>/<registry>/`: CAs (*.crt), a client pair (*.cert + *.key). */
export async function tlsMaterial(certsDir: string, registry: string): Promise<TlsMaterial> {
  const dir = path.join(certsDir, registry);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch {
    return {};
  }
  const out: TlsMaterial = {};
  for (const n of names) {
    const f = path.join(dir, n);
    if (n.endsWith('.crt')) (out.ca ??= []).push(await fsp.readFile(f));
    else if (n.endsWith('.cert')) {
      const key = path.join(dir, `${n.slice(0, -'.cert'.length)}.key`);
      let keyData: Buffer;
      try {
        keyData = await fsp.readFile(key);
      } catch {
        throw new Error(`missing key ${path.basename(key)} for client certificate ${n}. CA certificates must use the extension .crt`);
      }
      out.cert = await fsp.readFile(f);
      out.key = keyData;
    } else if (n.endsWith('.key') && !names.includes(`${n.slice(0, -'.key'.length)}.cert`)) {
      throw new Error(`missing client certificate ${n.slice(0, -'.key'.length)}.cert for key ${n}`);
    }
  }
  return out;
}

/**
 * The endpoints to try for `registry`, in order. Insecure registries get an
 * HTTPS endpoint without verification and then a plain HTTP one, as dockerd
 * lists them; `push` leaves mirrors out.
 */
export async function endpointsFor(registry: string, opts: RegistryOptions, o: { push?: boolean } = {}): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  if (registry === DEFAULT_REGISTRY) {
    if (!o.push) {
      for (const m of opts.mirrors) {
        const u = new URL(m);
        const insecure = u.protocol === 'http:' || isInsecure(u.host, opts);
        out.push({ url: m.replace(/\/+$/, ''), registry, mirror: true, skipVerify: insecure, tls: await tlsMaterial(opts.certsDir, u.host) });
      }
    }
    out.push({ url: `https://${DOCKER_IO_ENDPOINT}`, registry, mirror: false, skipVerify: false, tls: await tlsMaterial(opts.certsDir, DOCKER_IO_ENDPOINT) });
    return out;
  }
  const tls = await tlsMaterial(opts.certsDir, registry);
  const insecure = isInsecure(registry, opts);
  out.push({ url: `https://${registry}`, registry, mirror: false, skipVerify: insecure, tls });
  if (insecure) out.push({ url: `http://${registry}`, registry, mirror: false, skipVerify: true, tls: {} });
  return out;
}
