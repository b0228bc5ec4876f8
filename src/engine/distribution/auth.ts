/**
 * @module engine/distribution/auth
 * Registry authentication (distribution's registry/client/auth, and the
 * token spec under docs/spec/auth): a registry answers 401 with a
 * `WWW-Authenticate` challenge; for `Basic` the client sends the user's
 * credentials, for `Bearer` it asks the realm for a token covering the
 * scopes it needs (`repository:library/busybox:pull`), anonymously or with
 * the credentials, and sends that. Tokens are cached per scope set until
 * they expire (then fetched again: the refresh). Credentials come from the
 * API's `X-Registry-Auth` header (an AuthConfig), never stored by the daemon.
 */
import { errorMessage } from '../errors.js';
import { readBody, send } from './transport.js';
import type { Endpoint } from './hosts.js';

import type { AuthConfig } from '../../common/api/system.js';
export type { AuthConfig };

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses WWW-Authenticate values (RFC 7235: scheme, then auth-params with quoted strings). */
export function parseChallenges(headers: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of Array.isArray(headers) ? headers : headers ? [headers] : []) {
    let s = h.trim();
    while (s) {
      const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*/.exec(s);
      if (!m) break;
      const c: Challenge = { scheme: m[1]!.toLowerCase(), params: {} };
      s = s.slice(m[0].length);
      for (;;) {
        const p = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/.exec(s);
        if (!p) break;
        c.params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
        s = s.slice(p[0].length);
      }
      out.push(c);
    }
  }
  return out;
}

/** Decodes X-Registry-Auth (base64url JSON; the CLI sends standard base64 too). Malformed → anonymous, as dockerd does for "{}"; garbage → error. */
export function decodeAuthHeader(v: string | undefined): AuthConfig {
  if (!v) return {};
  let json: string;
  try {
    json = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const cfg = JSON.parse(json) as AuthConfig;
    if (cfg === null || typeof cfg !== 'object') return {};
    if (cfg.auth && !cfg.username) {
      const plain = Buffer.from(cfg.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) {
        cfg.username = plain.slice(0, i);
        cfg.password = plain.slice(i + 1);
      }
    }
    return cfg;
  } catch {
    throw new Error('invalid X-Registry-Auth header: expected base64url-encoded JSON');
  }
}

export class AuthError extends Error {
  constructor(
    message: string,
    readonly status = 401,
  ) {
    super(message);
  }
}

interface CachedToken {
  token: string;
  expires: number;
}

/**
 * The auth state of one operation against one registry: the challenge the
 * registry last sent, and tokens by scope set.
 */
export class Authorizer {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    readonly creds: AuthConfig = {},
    private readonly endpoint?: Endpoint,
  ) {}

  private hasCreds(): boolean {
    return !!(this.creds.username || this.creds.identitytoken);
  }

  /** The Authorization header for a request needing `scopes`, if the registry has challenged before. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (this.creds.registrytoken) return `Bearer ${this.creds.registrytoken}`;
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.creds.username) return undefined;
      return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
    }
    if (c.scheme === 'bearer') return `Bearer ${await this.token(scopes)}`;
    return undefined;
  }

  /**
   * Learns from a 401 (or the /v2/ ping's). Returns whether trying again can
   * help: a new challenge, or an expired/insufficient token to refresh.
   */
  onUnauthorized(wwwAuthenticate: string | string[] | undefined, scopes: string[]): boolean {
    const cs = parseChallenges(wwwAuthenticate);
    const c = cs.find((x) => x.scheme === 'bearer') ?? cs.find((x) => x.scheme === 'basic');
    if (!c) return false;
    const known = this.challenge;
    this.challenge = c;
    if (c.scheme === 'basic') return (!known || known.scheme !== 'basic') && this.hasCreds();
    // Bearer: the cached token for these scopes did not do; one fresh fetch may (a scope the registry asks for in its error).
    const key = scopeKey(scopes);
    const had = this.tokens.has(key);
    this.tokens.delete(key);
    return !known || known.scheme !== 'bearer' || had;
  }

  /** The scopes the last Bearer challenge named (its `scope` parameter), for requests whose scope the client cannot know (search). */
  challengedScopes(): string[] {
    return this.challenge?.scheme === 'bearer' ? (this.challenge.params.scope ?? '').split(' ').filter(Boolean) : [];
  }

  /** The token for `scopes` (cached until it expires; fetched from the realm otherwise). */
  private async token(scopes: string[]): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return cached.token;
    const t = await this.fetchToken(scopes);
    this.tokens.set(key, t);
    return t.token;
  }

  private async fetchToken(scopes: string[]): Promise<CachedToken> {
    const p = this.challenge!.params;
    if (!p.realm) throw new AuthError('bearer challenge without a realm');
    const realm = new URL(p.realm);
    const headers: Record<string, string> = {};
    let res;
    try {
      if (this.creds.identitytoken) {
        // OAuth2 refresh-token grant (docker login's IdentityToken).
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.creds.identitytoken, client_id: 'docker', ...(p.service ? { service: p.service } : {}) });
        if (scopes.length) form.set('scope', scopes.join(' '));
        res = await send(realm, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), endpoint: this.sameHost(realm) });
      } else {
        if (p.service) realm.searchParams.set('service', p.service);
        for (const s of scopes) realm.searchParams.append('scope', s);
        if (this.creds.username) {
          realm.searchParams.set('account', this.creds.username);
          headers.Authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
        }
        res = await send(realm, { headers, endpoint: this.sameHost(realm) });
      }
    } catch (err) {
      throw new AuthError(`failed to fetch an auth token from ${p.realm}: ${errorMessage(err)}`, 500);
    }
    const body = await readBody(res, 1 << 20);
    if (res.statusCode !== 200) {
      let detail = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
      try {
        const j = JSON.parse(body.toString()) as { details?: string; errors?: { message?: string }[] };
        detail = j.details ?? j.errors?.[0]?.message ?? detail;
      } catch {
        // not JSON
      }
      throw new AuthError(res.statusCode === 401 ? `unauthorized: ${detail}` : `failed to fetch an auth token: ${detail}`, res.statusCode === 401 ? 401 : 500);
    }
    const j = JSON.parse(body.toString()) as { token?: string; access_token?: string; expires_in?: number };
    const token = j.token ?? j.access_token;
    if (!token) throw new AuthError('the token server answered without a token', 500);
    // The spec's minimum lifetime is 60 s; refresh a little early.
    const life = Math.max(60, j.expires_in ?? 60);
    return { token, expires: Date.now() + (life - 5) * 1000 };
  }

  /** The registry's TLS settings apply to a realm on the same host (a token endpoint of a certs.d registry). */
  private sameHost(realm: URL): Endpoint | undefined {
    if (!this.endpoint) return undefined;
    return new URL(this.endpoint.url).host === realm.host ? this.endpoint : undefined;
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}
