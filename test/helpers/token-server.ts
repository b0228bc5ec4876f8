/**
 * A token endpoint for the distribution registry's `auth: token:` mode (the
 * docker registry token spec): it checks Basic credentials, grants actions
 * per repository by a rule the test gives, and signs RS256 JWTs whose `x5c`
 * header carries the self-signed certificate the registry trusts.
 */
import http from 'node:http';
import { createSign, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCert: string;
  /** Every request the endpoint saw: account and scopes. */
  requests: { account?: string; scopes: string[]; authorized: boolean }[];
  close(): Promise<void>;
}

export type Grant = (user: string | undefined, repo: string, wanted: string[]) => string[];

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export async function startTokenServer(dir: string, users: Record<string, string>, grant: Grant, o: { expiresIn?: number } = {}): Promise<TokenServer> {
  const key = path.join(dir, 'token.key');
  const cert = path.join(dir, 'token.crt');
  await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=berth-test-token-issuer']);
  const keyPem = await fsp.readFile(key, 'utf8');
  const certDer = (await fsp.readFile(cert, 'utf8')).replace(/-----[^-]+-----|\s/g, '');
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const requests: TokenServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const scopes = u.searchParams.getAll('scope');
    let user: string | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (users[name!] !== rest.join(':')) {
        requests.push({ account: name, scopes, authorized: false });
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = name;
    }
    requests.push({ ...(user ? { account: user } : {}), scopes, authorized: true });
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      if (type !== 'repository' || !name) return [];
      return [{ type, name, actions: grant(user, name, (actions ?? '').split(',')) }];
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = o.expiresIn ?? 300;
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(signingInput).sign(keyPem);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${signingInput}.${b64url(sig)}`, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCert: cert,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
