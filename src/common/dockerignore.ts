/**
 * `.dockerignore` as moby's patternmatcher reads it: comments and blank
 * lines dropped, patterns cleaned (leading "/" and "./" trimmed), `!`
 * exceptions and `**` kept. Matching is @balena/dockerignore's, a port of
 * those rules; the CLI (what it sends) and the daemon (what it keeps) share it.
 */
import path from 'node:path';
import { createRequire } from 'node:module';

// A CommonJS module whose typings declare an ES default export: loaded as what it is.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as typeof import('@balena/dockerignore').default;

export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const neg = line.startsWith('!');
    let p = neg ? line.slice(1).trim() : line;
    p = path.posix.normalize(p).replace(/^\/+/, '');
    if (p === '.' || p === '') continue;
    out.push(neg ? `!${p}` : p);
  }
  return out;
}

/** A predicate: true when a context-relative path is excluded. */
export function dockerignoreMatcher(text: string): (rel: string) => boolean {
  const ig = ignore().add(parseDockerignore(text));
  return (rel) => ig.ignores(rel);
}
