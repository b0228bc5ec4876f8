/**
 * @module registry/access
 * What a request needs and who may have it, in the token spec's vocabulary
 * (registry-auth/scope.md): a *resource scope* `repository:<name>:pull,push`
 * names a resource type, a name and actions (`pull`, `push`, `delete`;
 * `registry:catalog:*` for the catalog and search). The ACL grants actions
 * to accounts; the authenticators (./auth.ts) check requests against it.
 */

export interface Access {
  type: string;
  name: string;
  action: string;
}

export interface ResourceScope {
  type: string;
  name: string;
  actions: string[];
}

/**
 * One ACL rule: `account` and `name` are globs (`*` matches anything,
 * `alice/*` a namespace); account `*` is any authenticated user and
 * `anonymous` one who gave no credentials; `type` defaults to repository
 * (`registry` with name `catalog` covers the catalog and search).
 */
export interface AclRule {
  account: string;
  type?: string;
  name: string;
  actions: string[];
}

/** Parses `type:name:a,b` (the name may hold a `:port`, so the type ends at the first `:` and the actions start after the last). */
export function parseScope(s: string): ResourceScope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = s.slice(0, first).replace(/\(.*\)$/, ''); // `repository(plugin)`: the class is ignored, as distribution does now
  const name = s.slice(first + 1, last);
  const actions = s.slice(last + 1).split(',').filter(Boolean);
  if (!/^[a-z0-9]+$/.test(type) || !name) return undefined;
  return { type, name, actions };
}

export function scopeString(type: string, name: string, actions: string[]): string {
  return `${type}:${name}:${actions.join(',')}`;
}

/** The needed accesses grouped as the challenge's `scope` values (one per resource). */
export function scopesOf(needed: Access[]): string[] {
  const by = new Map<string, string[]>();
  for (const a of needed) {
    const k = `${a.type}:${a.name}`;
    const l = by.get(k) ?? [];
    if (!l.includes(a.action)) l.push(a.action);
    by.set(k, l);
  }
  return [...by].map(([k, actions]) => `${k}:${actions.join(',')}`);
}

function glob(pattern: string, s: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return re.test(s);
}

const ALL = ['pull', 'push', 'delete', '*'];

/**
 * The actions `account` ('' when anonymous) holds on a resource. Without an
 * ACL every authenticated user holds everything and an anonymous one nothing.
 */
export function granted(acl: AclRule[] | undefined, account: string, type: string, name: string): string[] {
  if (!acl) return account ? ALL : [];
  const out = new Set<string>();
  for (const r of acl) {
    const acct = r.account === 'anonymous' ? account === '' : account !== '' && glob(r.account, account);
    if (!acct || (r.type ?? 'repository') !== type || !glob(r.name, name)) continue;
    for (const a of r.actions) {
      if (a === '*') ALL.forEach((x) => out.add(x));
      else out.add(a);
    }
  }
  return [...out];
}

/** Whether `held` (actions on one resource) covers `action` (`*` covers all). */
export function covers(held: readonly string[], action: string): boolean {
  return held.includes(action) || held.includes('*');
}
