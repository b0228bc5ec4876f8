/**
 * Test registries: Debian's distribution registry (`docker-registry`, the
 * reference implementation of the distribution API) on 127.0.0.1 with an
 * ephemeral port and its own temp storage; open, with htpasswd Basic auth,
 * with TLS, or with token auth (`auth: token:`) against a token endpoint the
 * test serves. `stop` kills it; `start` brings it back on the same port and
 * storage (the resume tests).
 */
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface RegistryOptions {
  /** htpasswd Basic auth with this user. */
  basic?: { user: string; password: string };
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Token auth: the registry trusts tokens signed by `rootCert`'s key, issued for `service` by `issuer`. */
  token?: { realm: string; service: string; issuer: string; rootCert: string };
}

export interface TestRegistry {
  /** host:port as references spell it: 127.0.0.1:NNNNN. */
  host: string;
  port: number;
  dir: string;
  storage: string;
  url: string;
  /** Kills the registry (SIGKILL), leaving its storage. */
  kill(): Promise<void>;
  /** Starts it again on the same port and storage. */
  start(): Promise<void>;
  log(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number, proc: ChildProcess, logFile: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${await fsp.readFile(logFile, 'utf8').catch(() => '')}`);
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), r(true)));
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not start listening');
}

export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-registry-'));
  const storage = path.join(dir, 'storage');
  await fsp.mkdir(storage);
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log: { level: info, accesslog: { disabled: false } }',
    `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
    `http:`,
    `  addr: 127.0.0.1:${port}`,
    `  secret: berth-test-secret`,
  ];
  if (o.tls) {
    lines.push('  tls:', `    certificate: ${o.tls.cert}`, `    key: ${o.tls.key}`);
    if (o.tls.clientCa) lines.push('    clientcas:', `      - ${o.tls.clientCa}`);
  }
  if (o.basic) {
    const htpasswd = path.join(dir, 'htpasswd');
    await execFileP('htpasswd', ['-Bbc', htpasswd, o.basic.user, o.basic.password]);
    lines.push(`auth: { htpasswd: { realm: berth-test, path: ${htpasswd} } }`);
  }
  if (o.token) {
    lines.push('auth:', '  token:', `    realm: ${o.token.realm}`, `    service: ${o.token.service}`, `    issuer: ${o.token.issuer}`, `    rootcertbundle: ${o.token.rootCert}`);
  }
  const configFile = path.join(dir, 'config.yml');
  await fsp.writeFile(configFile, `${lines.join('\n')}\n`);
  const logFile = path.join(dir, 'registry.log');
  let proc: ChildProcess | undefined;
  const scheme = o.tls ? 'https' : 'http';
  const r: TestRegistry = {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    storage,
    url: `${scheme}://127.0.0.1:${port}`,
    async start() {
      const fh = await fsp.open(logFile, 'a');
      proc = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', fh.fd, fh.fd] });
      await fh.close();
      await waitPort(port, proc, logFile);
    },
    async kill() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((res) => p.once('exit', res));
      p.kill('SIGKILL');
      await exited;
    },
    log: () => fsp.readFile(logFile, 'utf8').catch(() => ''),
    async cleanup() {
      await r.kill();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await r.start();
  } catch (err) {
    await r.cleanup();
    throw err;
  }
  return r;
}

/** Copies an image archive (docker-archive made by `save`) into a registry with skopeo. */
export async function seedRegistry(archive: string, dest: string, o: { creds?: string } = {}): Promise<void> {
  await execFileP('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...(o.creds ? ['--dest-creds', o.creds] : []), `docker-archive:${archive}`, `docker://${dest}`]);
}
