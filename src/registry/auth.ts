/**
 * @module registry/auth
 * Who is asking and whether they may: one Authenticator per mode.
 *  - open: everyone may do everything;
 *  - htpasswd: HTTP Basic against an htpasswd file of bcrypt hashes (what
 *    `htpasswd -B` writes and the distribution registry reads), then the ACL
 *    (403 DENIED when the account lacks the action);
 *  - token: Bearer JWTs that this server's own `/token` endpoint signs
 *    (registry-auth/token.md and jwt.md): a missing, bad or expired token, or
 *    one whose `access` claim lacks an action, gets 401 with distribution's
 *    `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge, so a
 *    client fetches a token for exactly what it needs.
 * bcrypt comes from bcryptjs (maintained, no native build, compatible with
 * the $2y$ hashes htpasswd writes); JWTs from jose (maintained, no
 * dependencies) rather than hand-rolled signing.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
// jose is loaded only in token mode (~10 MB resident): an open or htpasswd registry stays small.
type Jose = typeof import('jose');
import { covers, granted, parseScope, scopesOf, type Access, type AclRule, type ResourceScope } from './access.js';
import type { TokenConfig } from './config.js';
import { RegistryError, regError } from './errors.js';

/** What the server knows about the request when it asks. */
export interface AuthRequest {
  authorization?: string;
  /** `https://host:port`: where the default token realm is. */
  origin: string;
}

export interface Authenticator {
  /** The account ('' anonymous) allowed every access in `needed`; throws UNAUTHORIZED or DENIED otherwise. */
  authorize(req: AuthRequest, needed: Access[]): Promise<string>;
  /** Whether `account` may `action` on repository `name` (search and catalog filter with it). */
  allows(account: string, type: string, name: string, action: string): boolean;
}

export class OpenAuth implements Authenticator {
  async authorize(): Promise<string> {
    return '';
  }
  allows(): boolean {
    return true;
  }
}

// ---- htpasswd

/** An htpasswd file of bcrypt hashes, read again when it changes. */
export class Htpasswd {
  private users = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;
  /** Verified user:password pairs (by hash), so bcrypt's deliberate slowness is paid once per minute, not per request. */
  private verified = new Map<string, number>();

  constructor(readonly file: string) {}

  async load(): Promise<void> {
    const st = await fsp.stat(this.file);
    if (st.mtimeMs === this.mtimeMs) return;
    const users = new Map<string, string>();
    for (const line of (await fsp.readFile(this.file, 'utf8')).split('\n')) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      const i = l.indexOf(':');
      if (i <= 0) continue;
      users.set(l.slice(0, i), l.slice(i + 1));
    }
    this.users = users;
    this.mtimeMs = st.mtimeMs;
    this.verified.clear();
  }

  async verify(user: string, password: string): Promise<boolean> {
    if (Date.now() - this.checkedAt > 1000) {
      this.checkedAt = Date.now();
      await this.load().catch(() => undefined);
    }
    const hash = this.users.get(user);
    // Only bcrypt, as the distribution registry: other htpasswd formats are weak.
    if (!hash || !/^\$2[aby]\$/.test(hash)) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    const until = this.verified.get(key);
    if (until && until > Date.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) this.verified.set(key, Date.now() + 60_000);
    return ok;
  }
}

/** `Basic` credentials from an Authorization header. */
export function basicCredentials(authorization: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) return undefined;
  return { user: raw.slice(0, i), password: raw.slice(i + 1) };
}

export class HtpasswdAuth implements Authenticator {
  constructor(
    private readonly htpasswd: Htpasswd,
    private readonly realm: string,
    private readonly acl: AclRule[] | undefined,
  ) {}

  async authorize(req: AuthRequest, needed: Access[]): Promise<string> {
    const cred = basicCredentials(req.authorization);
    if (!cred || !(await this.htpasswd.verify(cred.user, cred.password))) {
      throw regError('UNAUTHORIZED', 'authentication required', accessDetail(needed)).withHeaders({ 'WWW-Authenticate': `Basic realm="${this.realm}"` });
    }
    for (const a of needed) {
      if (!covers(granted(this.acl, cred.user, a.type, a.name), a.action)) throw regError('DENIED', 'requested access to the resource is denied', accessDetail([a]));
    }
    return cred.user;
  }

  allows(account: string, type: string, name: string, action: string): boolean {
    return covers(granted(this.acl, account, type, name), action);
  }
}

function accessDetail(needed: Access[]): unknown {
  return needed.map((a) => ({ Type: a.type, Class: '', Name: a.name, Action: a.action }));
}

// ---- tokens

interface Claims {
  access?: { type: string; name: string; actions: string[] }[];
}

/** Signs and checks the registry's own tokens. */
export class TokenService {
  private kid = '';
  private publicKey!: KeyObject;

  private constructor(
    private readonly jose: Jose,
    readonly cfg: TokenConfig,
    private readonly privateKey: KeyObject,
    private readonly htpasswd: Htpasswd | undefined,
    private readonly acl: AclRule[] | undefined,
  ) {}

  /** Loads the signing key (`cfg.key`), or the one kept under `root` (made on first use, mode 0600). */
  static async open(cfg: TokenConfig, root: string, htpasswd: Htpasswd | undefined, acl: AclRule[] | undefined): Promise<TokenService> {
    let pem: string;
    if (cfg.key) pem = await fsp.readFile(cfg.key, 'utf8');
    else {
      const file = path.join(root, 'token-key.pem');
      pem = await fsp.readFile(file, 'utf8').catch(async () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const out = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
        const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
        await fsp.writeFile(tmp, out, { mode: 0o600 });
        await fsp.rename(tmp, file);
        return out;
      });
    }
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ec') throw new Error('the token signing key must be an EC P-256 key (ES256)');
    const jose = await import('jose');
    const t = new TokenService(jose, cfg, privateKey, htpasswd, acl);
    t.publicKey = createPublicKey(privateKey);
    t.kid = await jose.calculateJwkThumbprint(await jose.exportJWK(t.publicKey));
    return t;
  }

  /** The account a Basic header proves ('' for none or wrong credentials). */
  async basicAccount(authorization: string | undefined): Promise<string> {
    const cred = basicCredentials(authorization);
    if (!cred || !this.htpasswd || !(await this.htpasswd.verify(cred.user, cred.password))) return '';
    return cred.user;
  }

  /** What the ACL lets `account` do (everything without a user database and an ACL). */
  holds(account: string, type: string, name: string): string[] {
    return !this.htpasswd && !this.acl ? ['*'] : granted(this.acl, account, type, name);
  }

  realm(origin: string): string {
    return this.cfg.realm ?? `${origin}/token`;
  }

  /**
   * The token endpoint's work: authenticate (Basic against htpasswd when
   * there is one; no credentials is anonymous), intersect each requested
   * scope with what the ACL grants, and sign. Never an error for access not
   * granted (the spec: the token just carries less).
   */
  async issue(authorization: string | undefined, scopes: string[], service: string | undefined): Promise<{ token: string; access_token: string; expires_in: number; issued_at: string }> {
    let account = '';
    const cred = basicCredentials(authorization);
    if (cred) {
      if (!this.htpasswd || !(await this.htpasswd.verify(cred.user, cred.password))) {
        throw regError('UNAUTHORIZED', 'authentication failed').withHeaders({ 'WWW-Authenticate': 'Basic realm="berth-registry-token"' });
      }
      account = cred.user;
    }
    if (service && service !== this.cfg.service) throw regError('DENIED', `unknown service ${JSON.stringify(service)}`);
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
      const rs: ResourceScope | undefined = parseScope(s);
      if (!rs) continue;
      // No user database and no ACL: tokens only scope what each client asked for (everyone may have anything).
      const held = !this.htpasswd && !this.acl ? ['*'] : granted(this.acl, account, rs.type, rs.name);
      const actions = rs.actions.filter((a) => covers(held, a));
      if (actions.length) access.push({ type: rs.type, name: rs.name, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = Math.max(60, Math.round(this.cfg.expiryMs / 1000));
    const token = await new this.jose.SignJWT({ access } as unknown as Record<string, unknown>)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.cfg.issuer)
      .setSubject(account)
      .setAudience(this.cfg.service)
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(now + Math.round(this.cfg.expiryMs / 1000))
      .setJti(randomBytes(16).toString('hex'))
      .sign(this.privateKey);
    return { token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() };
  }

  /** The token's account and access; throws with the reason (expired, bad signature, wrong audience). */
  async verify(token: string): Promise<{ account: string; access: Map<string, string[]> }> {
    const { payload } = await this.jose.jwtVerify(token, this.publicKey, { issuer: this.cfg.issuer, audience: this.cfg.service, algorithms: ['ES256'] });
    const access = new Map<string, string[]>();
    for (const a of (payload as Claims).access ?? []) access.set(`${a.type}:${a.name}`, [...(access.get(`${a.type}:${a.name}`) ?? []), ...a.actions]);
    return { account: payload.sub ?? '', access };
  }
}

export class TokenAuth implements Authenticator {
  constructor(private readonly tokens: TokenService) {}

  async authorize(req: AuthRequest, needed: Access[]): Promise<string> {
    const m = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? '');
    const challenge = (error?: string): RegistryError => {
      const scope = scopesOf(needed).join(' ');
      const parts = [`realm="${this.tokens.realm(req.origin)}"`, `service="${this.tokens.cfg.service}"`];
      if (scope) parts.push(`scope="${scope}"`);
      if (error) parts.push(`error="${error}"`);
      return regError('UNAUTHORIZED', error === 'insufficient_scope' ? 'authentication required' : error ? 'invalid token' : 'authentication required', accessDetail(needed)).withHeaders({
        'WWW-Authenticate': `Bearer ${parts.join(',')}`,
      });
    };
    // dockerd searches with the Basic credentials of `docker login` (its v1 search client), not a token.
    if (!m && /^Basic\s/i.test(req.authorization ?? '') && needed.length && needed.every((a) => a.type === 'registry' && a.action === 'search')) {
      const account = await this.tokens.basicAccount(req.authorization);
      if (!account) throw challenge('invalid_token');
      if (!needed.every((a) => covers(this.tokens.holds(account, a.type, a.name), a.action))) throw regError('DENIED', 'requested access to the resource is denied', accessDetail(needed));
      return account;
    }
    if (!m) throw challenge();
    let v;
    try {
      v = await this.tokens.verify(m[1]!);
    } catch {
      // Expired, not yet valid, badly signed, for another service: all `invalid_token` (RFC 6750).
      throw challenge('invalid_token');
    }
    for (const a of needed) {
      if (!covers(v.access.get(`${a.type}:${a.name}`) ?? [], a.action)) throw challenge('insufficient_scope');
    }
    return v.account;
  }

  allows(account: string, type: string, name: string, action: string): boolean {
    return covers(this.tokens.holds(account, type, name), action);
  }
}
