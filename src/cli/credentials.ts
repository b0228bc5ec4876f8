/**
 * The docker CLI's credential store: `config.json` in `$DOCKER_CONFIG` (or
 * `~/.docker`), `auths` keyed by registry (docker.io's key is
 * "https://index.docker.io/v1/") with base64 "user:password", or a
 * credential helper `docker-credential-<name>` named by `credHelpers[host]`
 * or `credsStore` (get/store/erase over stdin/stdout, the
 * docker-credential-helpers protocol). The file is rewritten by temp +
 * rename, keeping keys berth does not know.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseNormalizedNamed } from '../common/reference/reference.js';

export const INDEX_SERVER = 'https://index.docker.io/v1/';

import type { AuthConfig } from '../common/api/system.js';
export type { AuthConfig };

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; email?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function configDir(): string {
  return process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
}

export function configPath(): string {
  return path.join(configDir(), 'config.json');
}

async function readConfig(): Promise<ConfigFile> {
  try {
    return JSON.parse(await fsp.readFile(configPath(), 'utf8')) as ConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${configPath()}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeConfig(c: ConfigFile): Promise<void> {
  await fsp.mkdir(configDir(), { recursive: true, mode: 0o700 });
  const tmp = `${configPath()}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, `${JSON.stringify(c, null, '\t')}\n`, { mode: 0o600 });
  await fsp.rename(tmp, configPath());
}

/** The key a registry's credentials are stored under: docker.io → the index server URL. */
export function credentialKey(registry: string): string {
  const r = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (!r || r === 'docker.io' || r === 'index.docker.io' || r === 'registry-1.docker.io') return INDEX_SERVER;
  return r;
}

/** The registry an image name lives on ("busybox" → the index server key). */
export function registryOfImage(name: string): string {
  try {
    return credentialKey(parseNormalizedNamed(name).domain);
  } catch {
    return INDEX_SERVER;
  }
}

function helperFor(c: ConfigFile, key: string): string | undefined {
  const host = key === INDEX_SERVER ? key : key;
  return c.credHelpers?.[host] ?? c.credsStore;
}

function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', (err) => reject(new Error(`error getting credentials - err: ${err.message}, out: \`\``)));
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString().trim();
      if (code === 0) resolve(text);
      else reject(new Error(text || `docker-credential-${name} ${action} exited with ${code}`));
    });
    child.stdin.end(input);
  });
}

/** Stored credentials for a registry (an empty config when there are none). */
export async function getCredentials(registry: string): Promise<AuthConfig> {
  const key = credentialKey(registry);
  const c = await readConfig();
  const helper = helperFor(c, key);
  if (helper) {
    try {
      const out = await runHelper(helper, 'get', key);
      const j = JSON.parse(out) as { Username?: string; Secret?: string; ServerURL?: string };
      if (j.Username === '<token>') return { identitytoken: j.Secret, serveraddress: key };
      return { username: j.Username, password: j.Secret, serveraddress: key };
    } catch (err) {
      if (/credentials not found/i.test((err as Error).message)) return { serveraddress: key };
      throw err;
    }
  }
  const e = c.auths?.[key];
  if (!e) return { serveraddress: key };
  const out: AuthConfig = { serveraddress: key };
  if (e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString();
    const i = plain.indexOf(':');
    out.username = plain.slice(0, i);
    out.password = plain.slice(i + 1);
  }
  if (e.identitytoken) out.identitytoken = e.identitytoken;
  return out;
}

export async function storeCredentials(a: AuthConfig): Promise<void> {
  const key = credentialKey(a.serveraddress ?? INDEX_SERVER);
  const c = await readConfig();
  const helper = helperFor(c, key);
  if (helper) {
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: a.identitytoken ? '<token>' : a.username, Secret: a.identitytoken || a.password }));
    // The helper holds the secret; the file only remembers that there is a login.
    c.auths = { ...c.auths, [key]: {} };
  } else {
    c.auths = { ...c.auths, [key]: { auth: Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64'), ...(a.identitytoken ? { identitytoken: a.identitytoken } : {}) } };
  }
  await writeConfig(c);
}

/** Removes stored credentials; false when there were none. */
export async function eraseCredentials(registry: string): Promise<boolean> {
  const key = credentialKey(registry);
  const c = await readConfig();
  const helper = helperFor(c, key);
  let had = !!c.auths?.[key];
  if (helper) {
    try {
      await runHelper(helper, 'erase', key);
      had = true;
    } catch {
      // not stored there
    }
  }
  if (c.auths?.[key]) {
    delete c.auths[key];
    await writeConfig(c);
  }
  return had;
}

/**
 * Every stored credential, by registry key (the config's auths and
 * credHelpers), as the docker CLI sends them to a build in X-Registry-Config.
 * A helper that fails for one key leaves that key out.
 */
export async function allCredentials(): Promise<Record<string, AuthConfig>> {
  const c = await readConfig().catch(() => ({}) as ConfigFile);
  const keys = new Set([...Object.keys(c.auths ?? {}), ...Object.keys(c.credHelpers ?? {})]);
  const out: Record<string, AuthConfig> = {};
  for (const k of keys) {
    const a = await getCredentials(k).catch(() => undefined);
    if (a && (a.username || a.identitytoken)) out[k] = a;
  }
  return out;
}

/** X-Registry-Auth: base64url of the AuthConfig JSON, as the docker CLI encodes it. */
export function encodeAuth(a: AuthConfig): string {
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}

/** The header for pulling or pushing `image`, from stored credentials. */
export async function authHeaderFor(image: string): Promise<string> {
  const creds = await getCredentials(registryOfImage(image)).catch(() => ({}) as AuthConfig);
  return encodeAuth(creds);
}
