/**
 * @module engine/distribution/search
 * `docker search`: the registry's v1 search API (`GET /v1/search?q=&n=`, the
 * shape Docker Hub answers with). A term may start with a registry name
 * (`127.0.0.1:5000/busy`): that registry is asked for the rest; otherwise
 * Docker Hub's index. The daemon applies the filters (is-official,
 * is-automated, stars) and the limit, as dockerd does.
 */
import { invalid } from '../errors.js';
import { Authorizer, type AuthConfig } from './auth.js';
import { DEFAULT_REGISTRY, endpointsFor, type RegistryOptions } from './hosts.js';
import { readBody, send } from './transport.js';
import { TransportError } from './registry.js';

export interface SearchResult {
  star_count: number;
  is_official: boolean;
  name: string;
  is_automated: boolean;
  description: string;
}

/** Splits "host:port/term" into registry and term; a first part without '.', ':' or "localhost" is part of the term. */
export function splitSearchTerm(term: string): { registry: string; term: string } {
  const i = term.indexOf('/');
  if (i > 0) {
    const first = term.slice(0, i);
    if (first === 'localhost' || first.includes('.') || first.includes(':')) {
      const reg = first === 'index.docker.io' || first === 'docker.io' ? DEFAULT_REGISTRY : first;
      return { registry: reg, term: term.slice(i + 1) };
    }
  }
  return { registry: DEFAULT_REGISTRY, term };
}

export async function searchRegistry(rawTerm: string, limit: number, auth: AuthConfig | undefined, opts: RegistryOptions): Promise<SearchResult[]> {
  if (limit < 1 || limit > 100) throw invalid(`limit ${limit} is outside the range of [1, 100]`);
  const { registry, term } = splitSearchTerm(rawTerm);
  // Docker Hub's index answers search; other registries at their own address.
  const eps = registry === DEFAULT_REGISTRY ? [{ ...(await endpointsFor(registry, opts, { push: true }))[0]!, url: 'https://index.docker.io' }] : await endpointsFor(registry, opts, { push: true });
  let last: unknown;
  for (const ep of eps) {
    const url = new URL(`${ep.url}/v1/search`);
    url.searchParams.set('q', term);
    url.searchParams.set('n', String(limit));
    const authz = new Authorizer(auth ?? {}, ep);
    try {
      // No repository scope fits a search: whatever the registry's challenge asks for (berth's registry: registry:catalog:search).
      let scopes: string[] = [];
      for (let attempt = 0; ; attempt++) {
        const h = await authz.header(scopes);
        const res = await send(url, { endpoint: ep, headers: h ? { Authorization: h } : {} });
        const body = await readBody(res, 8 << 20);
        if (res.statusCode === 401 && attempt < 2 && authz.onUnauthorized(res.headers['www-authenticate'], scopes)) {
          scopes = authz.challengedScopes();
          continue;
        }
        if (res.statusCode !== 200) throw new Error(`Unexpected status code ${res.statusCode}`);
        const j = JSON.parse(body.toString()) as { results?: Partial<SearchResult>[] };
        return (j.results ?? []).map((r) => ({
          star_count: Number(r.star_count ?? 0),
          is_official: !!r.is_official,
          name: String(r.name ?? ''),
          is_automated: !!r.is_automated,
          description: String(r.description ?? ''),
        }));
      }
    } catch (err) {
      last = err;
      if (isTransport(err)) continue;
      break;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

function isTransport(err: unknown): boolean {
  return err instanceof TransportError || typeof (err as NodeJS.ErrnoException)?.code === 'string';
}

/** dockerd's search filters: is-official, is-automated (bools), stars (minimum). */
export function filterResults(results: SearchResult[], filters: Record<string, string[]>, limit: number): SearchResult[] {
  for (const k of Object.keys(filters)) if (!['is-official', 'is-automated', 'stars'].includes(k)) throw invalid(`invalid filter '${k}'`);
  const bool = (k: string): boolean | undefined => {
    const v = filters[k];
    if (!v?.length) return undefined;
    const s = v[v.length - 1]!;
    if (!['true', 'false', '1', '0'].includes(s.toLowerCase())) throw invalid(`invalid filter '${k}=${s}'`);
    return s === 'true' || s === '1';
  };
  const official = bool('is-official');
  const automated = bool('is-automated');
  let stars = 0;
  for (const s of filters.stars ?? []) {
    const n = Number(s);
    if (!Number.isInteger(n)) throw invalid(`invalid filter 'stars=${s}'`);
    stars = Math.max(stars, n);
  }
  return results
    .filter((r) => (official === undefined || r.is_official === official) && (automated === undefined || r.is_automated === automated) && r.star_count >= stars)
    .slice(0, limit);
}
