/**
 * Daemon addresses: "unix:///path/to.sock" or "tcp://host:port", as given to
 * -H / BERTH_HOST / DOCKER_HOST, turned into Node http connection options.
 */

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
/** dockerd's conventional plain-TCP port, used when tcp:// has none. */
const DEFAULT_TCP_PORT = 2375;

export type DaemonHost =
  | { kind: 'unix'; path: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

export function parseHost(s: string): DaemonHost {
  const url = s.trim();
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (!path) throw new Error(`invalid host address "${s}": missing socket path`);
    return { kind: 'unix', path, url };
  }
  if (url.startsWith('/')) return { kind: 'unix', path: url, url: `unix://${url}` };
  if (url.startsWith('tcp://') || url.startsWith('http://')) {
    const rest = url.slice(url.indexOf('://') + 3).replace(/\/+$/, '');
    // [v6]:port, host:port, or a bare host
    const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(rest);
    if (!m) throw new Error(`invalid host address "${s}"`);
    const host = m[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const port = m[2] ? Number(m[2]) : DEFAULT_TCP_PORT;
    return { kind: 'tcp', host, port, url: `tcp://${m[1] || '127.0.0.1'}:${port}` };
  }
  throw new Error(`invalid host address "${s}": only unix:// and tcp:// are supported`);
}

/** Connection options for http.request. */
export function connectOptions(h: DaemonHost): { socketPath: string } | { host: string; port: number } {
  return h.kind === 'unix' ? { socketPath: h.path } : { host: h.host, port: h.port };
}
