/**
 * @module engine/network/cni
 * Running CNI plugins (Debian's containernetworking-plugins) for a network
 * configuration list, as libcni does: ADD runs the plugins in order, each
 * given the previous one's result; DEL runs them in reverse with the same
 * configuration. Plugins are executables that read their configuration on
 * stdin and the request from CNI_* environment variables.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CNI_PLUGIN_DIR = '/usr/lib/cni';
export const CNI_VERSION = '1.0.0';

/** A network configuration list (the `.conflist` format). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** The parts of a CNI result berth uses. */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
}

export interface CniRequest {
  containerId: string;
  netns: string;
  ifName: string;
  /** Per-request settings for plugins that declare the capability (portmap: portMappings). */
  runtimeConfig?: Record<string, unknown>;
  /** CNI_ARGS ("IgnoreUnknown=1;IP=10.1.0.5"): host-local takes a requested address from it. */
  args?: string;
}

export class CniError extends Error {
  constructor(
    readonly plugin: string,
    message: string,
  ) {
    super(`plugin type="${plugin}" failed: ${message}`);
    this.name = 'CniError';
  }
}

function pluginConfig(list: NetworkConfigList, plugin: Record<string, unknown>, req: CniRequest, prevResult?: CniResult): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtime: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.runtimeConfig ?? {})) if (caps[k]) runtime[k] = v;
  if (Object.keys(runtime).length > 0) conf.runtimeConfig = runtime;
  delete conf.capabilities;
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

/**
 * Runs one plugin binary (`type`) with a network configuration. An IPAM
 * plugin is run this way with its main plugin's configuration, as the main
 * plugin itself would delegate to it.
 */
export function execPlugin(command: 'ADD' | 'DEL' | 'CHECK', type: string, conf: Record<string, unknown>, req: CniRequest): Promise<CniResult | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(CNI_PLUGIN_DIR, type), [], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: req.containerId,
        CNI_NETNS: req.netns,
        CNI_IFNAME: req.ifName,
        CNI_PATH: CNI_PLUGIN_DIR,
        ...(req.args ? { CNI_ARGS: req.args } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new CniError(type, e.message)));
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString();
      if (code !== 0) {
        // Plugins report failures as a JSON error object on stdout.
        let msg = Buffer.concat(err).toString().trim() || `exit status ${code}`;
        try {
          const e = JSON.parse(text) as { msg?: string; details?: string };
          if (e.msg) msg = e.details ? `${e.msg}: ${e.details}` : e.msg;
        } catch {
          // not JSON: keep stderr
        }
        reject(new CniError(type, msg));
        return;
      }
      if (command !== 'ADD' || text.trim() === '') {
        resolve(null);
        return;
      }
      try {
        resolve(JSON.parse(text) as CniResult);
      } catch {
        reject(new CniError(type, `invalid result: ${text.slice(0, 200)}`));
      }
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

/** ADD: every plugin in order; returns the last result. A failure undoes what was added (DEL), as libcni leaves it to the caller. */
export async function cniAdd(list: NetworkConfigList, req: CniRequest): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    const type = String(plugin.type);
    try {
      result = (await execPlugin('ADD', type, pluginConfig(list, plugin, req, result), req)) ?? result;
    } catch (err) {
      await cniDel(list, req).catch(() => undefined);
      throw err;
    }
  }
  if (!result) throw new CniError(String(list.plugins.at(-1)?.type ?? '?'), 'no result');
  return result;
}

/** DEL: every plugin in reverse order; plugins treat missing state as done, so this is safe to repeat. */
export async function cniDel(list: NetworkConfigList, req: CniRequest): Promise<void> {
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin('DEL', String(plugin.type), pluginConfig(list, plugin, req), req);
    } catch (err) {
      first ??= err;
    }
  }
  if (first) throw first;
}
