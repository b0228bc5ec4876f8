/**
 * Test harness for `berth registry serve`: starts the real CLI as a child
 * process on an ephemeral port (`--addr 127.0.0.1:0`; the bound address is
 * read from its first line), and a small HTTP client for the distribution
 * API (plain or TLS with a test CA). Cleanup kills the server by PID and
 * removes its root unless the caller owns it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { BERTH } from './daemon.js';

export interface TestRegistry {
  /** host:port */
  addr: string;
  root: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Starts a registry; `root` defaults to a fresh temp dir (removed at cleanup). */
export async function startRegistry(args: string[] = [], opts: { root?: string } = {}): Promise<TestRegistry> {
  const own = !opts.root;
  const root = opts.root ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-reg-')));
  const proc = spawn(process.execPath, ['--', BERTH, 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const reg: TestRegistry = {
    addr: '',
    root,
    proc,
    log: () => out,
    stop,
    async cleanup() {
      await stop();
      if (own) await fsp.rm(root, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < 400; i++) {
    const m = /listening on ([^\s,]+)/.exec(out);
    if (m) {
      reg.addr = m[1]!;
      return reg;
    }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await reg.cleanup();
  throw new Error(`berth registry serve did not start:\n${out}`);
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ReqOpts {
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  ca?: Buffer;
  tls?: boolean;
}

/** One request to the registry at `addr`. */
export function req(addr: string, method: string, p: string, o: ReqOpts = {}): Promise<Resp> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const headers: Record<string, string | number> = { ...(body ? { 'Content-Length': body.length } : {}), ...o.headers };
  const mod = o.tls || o.ca ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request({ host, port, method, path: p, headers, agent: false, ...(o.ca ? { ca: o.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString(), json: () => JSON.parse(b.toString()) });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The spec error code of a response. */
export const errCode = (r: Resp): string | undefined => {
  try {
    return r.json<{ errors: { code: string }[] }>().errors[0]?.code;
  } catch {
    return undefined;
  }
};

/** Pushes a blob to `repo` in one POST; returns its digest. */
export async function pushBlob(addr: string, repo: string, data: Buffer | string, o: ReqOpts = {}): Promise<string> {
  const d = sha256(data);
  const r = await req(addr, 'POST', `/v2/${repo}/blobs/uploads/?digest=${d}`, { ...o, body: data, headers: { 'Content-Type': 'application/octet-stream', ...o.headers } });
  if (r.status !== 201) throw new Error(`push blob: ${r.status} ${r.text}`);
  return d;
}

/** Pushes an OCI image (config + layers as given) under `repo:tag`; returns the manifest's digest and bytes. */
export async function pushImage(addr: string, repo: string, tag: string, layers: Buffer[], o: ReqOpts & { annotations?: Record<string, string> } = {}): Promise<{ digest: string; manifest: Buffer; blobs: string[] }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha256) } }));
  const blobs = [await pushBlob(addr, repo, config, o)];
  for (const l of layers) blobs.push(await pushBlob(addr, repo, l, o));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blobs[i + 1], size: l.length })),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    }),
  );
  const r = await req(addr, 'PUT', `/v2/${repo}/manifests/${tag}`, { ...o, body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', ...o.headers } });
  if (r.status !== 201) throw new Error(`push manifest: ${r.status} ${r.text}`);
  return { digest: sha256(manifest), manifest, blobs };
}

/** Every file under `dir` (relative paths), for "nothing half-stored" checks. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, '');
  return out.sort();
}
