/**
 * Routing for the Engine API. A small regex router rather than a radix-tree
 * library: Docker's paths put names containing slashes in the middle
 * (`/images/127.0.0.1:5000/app:1/json`, moby's `{name:.*}`), which
 * segment-based routers cannot express.
 */
import type { HttpContext, HijackContext } from './context.js';

export type HttpHandler = (ctx: HttpContext) => Promise<void>;
export type HijackHandler = (ctx: HijackContext) => Promise<void>;

interface Route<H> {
  method: string;
  re: RegExp;
  names: string[];
  handler: H;
}

/** `/containers/{id}/json` → regex; `{name:.*}` takes slashes, `{id}` does not. */
function compile(pattern: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const src = pattern.replace(/\{(\w+)(:\.\*)?\}/g, (_m, name: string, greedy?: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { re: new RegExp(`^${src}/?$`), names };
}

export class Router {
  private readonly http: Route<HttpHandler>[] = [];
  private readonly hijack: Route<HijackHandler>[] = [];

  on(method: string | string[], pattern: string, handler: HttpHandler): this {
    const { re, names } = compile(pattern);
    for (const m of [method].flat()) this.http.push({ method: m, re, names, handler });
    return this;
  }

  /** Routes that take over the connection (attach, exec start). */
  onHijack(method: string, pattern: string, handler: HijackHandler): this {
    const { re, names } = compile(pattern);
    this.hijack.push({ method, re, names, handler });
    return this;
  }

  findHttp(method: string, path: string) {
    return find(this.http, method, path);
  }

  findHijack(method: string, path: string) {
    return find(this.hijack, method, path);
  }
}

function find<H>(routes: Route<H>[], method: string, path: string): { handler: H; params: Record<string, string> } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
    return { handler: r.handler, params };
  }
  return undefined;
}
