/**
 * @module registry/search
 * `GET /v1/search`: repositories whose name contains the query, in Docker
 * Hub's v1 response shape (`num_pages`, `num_results`, `page_size`, `page`,
 * `query`, `results[]` of `{name, description, star_count, is_official,
 * is_automated}`), which dockerd's search (and so `docker search
 * 127.0.0.1:5000/busy`) reads. The distribution registry has no search; a
 * description, when there is one, is the `org.opencontainers.image.description`
 * annotation of the repository's `latest` manifest.
 */
import type { LocalContentStore } from '../engine/content/store.js';
import type { Repositories } from './repositories.js';

export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

export interface SearchResponse {
  num_pages: number;
  num_results: number;
  page_size: number;
  page: number;
  query: string;
  results: SearchResult[];
}

export async function search(
  repos: Repositories,
  cs: LocalContentStore,
  q: string,
  opts: { n?: number; page?: number; visible?: (name: string) => boolean },
): Promise<SearchResponse> {
  const pageSize = Math.min(Math.max(opts.n && opts.n > 0 ? opts.n : 25, 1), 100);
  const page = Math.max(opts.page && opts.page > 0 ? opts.page : 1, 1);
  const term = q.trim().toLowerCase();
  const names = (await repos.list()).filter((n) => n.includes(term) && (opts.visible?.(n) ?? true));
  const slice = names.slice((page - 1) * pageSize, page * pageSize);
  const results: SearchResult[] = [];
  for (const name of slice) results.push({ name, description: await description(repos, cs, name), star_count: 0, is_official: false, is_automated: false });
  return { num_pages: Math.max(1, Math.ceil(names.length / pageSize)), num_results: names.length, page_size: pageSize, page, query: q, results };
}

async function description(repos: Repositories, cs: LocalContentStore, name: string): Promise<string> {
  const d = await repos.resolveTag(name, 'latest');
  if (!d) return '';
  try {
    const m = JSON.parse((await cs.readAll(d)).toString('utf8')) as { annotations?: Record<string, string> };
    return m.annotations?.['org.opencontainers.image.description'] ?? '';
  } catch {
    return '';
  }
}
