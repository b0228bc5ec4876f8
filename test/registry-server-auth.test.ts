/**
 * `berth registry serve` with access control and TLS: htpasswd Basic auth
 * with an ACL (401 with a Basic challenge, 403 DENIED), Bearer tokens from
 * the server's own /token endpoint (challenges as distribution sends them,
 * per-repository scopes, a token for another repository, an expired
 * token), TLS with a test CA made by openssl, and the config file's
 * read-only, delete and upload-limit settings (UNSUPPORTED, TOOMANYREQUESTS).
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import { createPrivateKey } from 'node:crypto';
import { errCode, pushBlob, pushImage, req, sha256, startRegistry, type TestRegistry } from './helpers/berth-registry.js';

const execFileP = promisify(execFile);
let tmp = '';
const started: TestRegistry[] = [];
const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-regauth-'));
  await fsp.writeFile(path.join(tmp, 'htpasswd'), `alice:${bcrypt.hashSync('wonderland', 5).replace(/^\$2b\$/, '$2y$')}\nbob:${bcrypt.hashSync('builder', 5)}\n`);
});
after(async () => {
  for (const r of started) await r.cleanup();
  await fsp.rm(tmp, { recursive: true, force: true });
});

async function start(args: string[], root?: string): Promise<TestRegistry> {
  const r = await startRegistry(args, root ? { root } : {});
  started.push(r);
  return r;
}

test('htpasswd: 401 with a Basic challenge, bcrypt passwords, ACL gives 403 DENIED', async () => {
  const cfg = path.join(tmp, 'acl.yml');
  await fsp.writeFile(
    cfg,
    [
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:1', // flags win: the helper's --addr 127.0.0.1:0 is used
      'auth:',
      '  htpasswd:',
      '    realm: test-realm',
      `    path: ${path.join(tmp, 'htpasswd')}`,
      '  acl:',
      '    - { account: alice, name: "*", actions: ["*"] }',
      '    - { account: alice, type: registry, name: catalog, actions: ["*"] }',
      '    - { account: bob, name: "*", actions: [pull] }',
      '',
    ].join('\n'),
  );
  const r = await start(['--config', cfg]);
  let res = await req(r.addr, 'GET', '/v2/');
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], 'Basic realm="test-realm"');
  assert.equal(errCode(res), 'UNAUTHORIZED');
  assert.equal((await req(r.addr, 'GET', '/v2/', { headers: basic('alice', 'wrong') })).status, 401);
  assert.equal((await req(r.addr, 'GET', '/v2/', { headers: basic('nobody', 'x') })).status, 401);
  assert.equal((await req(r.addr, 'GET', '/v2/', { headers: basic('alice', 'wonderland') })).status, 200);
  const img = await pushImage(r.addr, 'team/app', 'v1', [Buffer.from('secret layer')], { headers: basic('alice', 'wonderland') });
  res = await req(r.addr, 'GET', '/v2/team/app/manifests/v1', { headers: basic('bob', 'builder') });
  assert.equal(res.status, 200);
  assert.equal(res.headers['docker-content-digest'], img.digest);
  assert.equal((await req(r.addr, 'GET', '/v2/team/app/manifests/v1')).status, 401);
  res = await req(r.addr, 'POST', '/v2/team/app/blobs/uploads/', { headers: basic('bob', 'builder') });
  assert.equal(res.status, 403);
  assert.equal(errCode(res), 'DENIED');
  res = await req(r.addr, 'DELETE', `/v2/team/app/manifests/${img.digest}`, { headers: basic('bob', 'builder') });
  assert.equal(errCode(res), 'DENIED');
  assert.equal((await req(r.addr, 'GET', '/v2/_catalog', { headers: basic('bob', 'builder') })).status, 403);
  assert.deepEqual((await req(r.addr, 'GET', '/v2/_catalog', { headers: basic('alice', 'wonderland') })).json().repositories, ['team/app']);
  assert.equal((await req(r.addr, 'GET', '/v1/search?q=app', { headers: basic('alice', 'wonderland') })).json().num_results, 1);
  assert.equal((await req(r.addr, 'GET', '/v1/search?q=app')).status, 401);
});

test('tokens: challenges, /token with Basic, per-repository scopes, another repository, expiry', async () => {
  const r = await start(['--token', '--htpasswd', path.join(tmp, 'htpasswd')]);
  const origin = `http://${r.addr}`;
  let res = await req(r.addr, 'GET', '/v2/');
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], `Bearer realm="${origin}/token",service="berth-registry"`);
  res = await req(r.addr, 'POST', '/v2/tok/a/blobs/uploads/');
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], `Bearer realm="${origin}/token",service="berth-registry",scope="repository:tok/a:pull,push"`);
  assert.equal(errCode(res), 'UNAUTHORIZED');
  assert.deepEqual(res.json().errors[0].detail, [
    { Type: 'repository', Class: '', Name: 'tok/a', Action: 'pull' },
    { Type: 'repository', Class: '', Name: 'tok/a', Action: 'push' },
  ]);
  // Wrong password at the token endpoint: 401.
  res = await req(r.addr, 'GET', '/token?service=berth-registry&scope=repository:tok/a:pull', { headers: basic('alice', 'nope') });
  assert.equal(res.status, 401);
  res = await req(r.addr, 'GET', '/token?service=berth-registry&scope=repository:tok/a:pull,push', { headers: basic('alice', 'wonderland') });
  assert.equal(res.status, 200);
  const t = res.json();
  assert.ok(t.token && t.access_token === t.token && t.expires_in >= 60 && t.issued_at);
  const claims = JSON.parse(Buffer.from(t.token.split('.')[1], 'base64url').toString());
  assert.deepEqual(claims.access, [{ type: 'repository', name: 'tok/a', actions: ['pull', 'push'] }]);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.aud, 'berth-registry');
  const bearer = { Authorization: `Bearer ${t.token}` };
  const img = await pushImage(r.addr, 'tok/a', 'v1', [Buffer.from('tok layer')], { headers: bearer });
  assert.equal((await req(r.addr, 'GET', '/v2/tok/a/manifests/v1', { headers: bearer })).headers['docker-content-digest'], img.digest);
  // The same token on another repository: 401 insufficient_scope, with the scope it would need.
  res = await req(r.addr, 'GET', '/v2/tok/b/tags/list', { headers: bearer });
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], `Bearer realm="${origin}/token",service="berth-registry",scope="repository:tok/b:pull",error="insufficient_scope"`);
  // No delete in this token.
  res = await req(r.addr, 'DELETE', '/v2/tok/a/manifests/v1', { headers: bearer });
  assert.equal(res.status, 401);
  assert.match(res.headers['www-authenticate']!, /scope="repository:tok\/a:delete",error="insufficient_scope"/);
  // Cross-repository mount needs pull on the source: without it, an ordinary session starts.
  const tb = (await req(r.addr, 'GET', '/token?service=berth-registry&scope=repository:tok/b:pull,push', { headers: basic('bob', 'builder') })).json().token;
  res = await req(r.addr, 'POST', `/v2/tok/b/blobs/uploads/?mount=${img.blobs[1]}&from=tok/a`, { headers: { Authorization: `Bearer ${tb}` } });
  assert.equal(res.status, 202);
  const both = (await req(r.addr, 'GET', '/token?service=berth-registry&scope=repository:tok/b:pull,push&scope=repository:tok/a:pull', { headers: basic('bob', 'builder') })).json().token;
  res = await req(r.addr, 'POST', `/v2/tok/b/blobs/uploads/?mount=${img.blobs[1]}&from=tok/a`, { headers: { Authorization: `Bearer ${both}` } });
  assert.equal(res.status, 201);
  // Anonymous: a token with no access at all.
  const anon = (await req(r.addr, 'GET', '/token?service=berth-registry&scope=repository:tok/a:pull')).json().token;
  assert.deepEqual(JSON.parse(Buffer.from(anon.split('.')[1], 'base64url').toString()).access, []);
  assert.equal((await req(r.addr, 'GET', '/v2/tok/a/tags/list', { headers: { Authorization: `Bearer ${anon}` } })).status, 401);
  // Expired (signed with the server's own key, so only the expiry is wrong), garbled, another service.
  const key = createPrivateKey(await fsp.readFile(path.join(r.root, 'token-key.pem'), 'utf8'));
  const sign = (exp: number, aud = 'berth-registry') =>
    new SignJWT({ access: [{ type: 'repository', name: 'tok/a', actions: ['pull'] }] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer('berth-registry-token-issuer')
      .setAudience(aud)
      .setSubject('alice')
      .setIssuedAt(exp - 600)
      .setExpirationTime(exp)
      .sign(key);
  const now = Math.floor(Date.now() / 1000);
  assert.equal((await req(r.addr, 'GET', '/v2/tok/a/tags/list', { headers: { Authorization: `Bearer ${await sign(now + 300)}` } })).status, 200);
  for (const bad of [await sign(now - 60), await sign(now + 300, 'other-service'), `${t.token.slice(0, -4)}AAAA`]) {
    res = await req(r.addr, 'GET', '/v2/tok/a/tags/list', { headers: { Authorization: `Bearer ${bad}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers['www-authenticate']!, /error="invalid_token"/);
    assert.equal(errCode(res), 'UNAUTHORIZED');
  }
  // OAuth2 password grant (POST), as docker login may use.
  res = await req(r.addr, 'POST', '/token', { body: 'grant_type=password&username=alice&password=wonderland&service=berth-registry&scope=repository:tok/a:pull', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 200);
  assert.equal((await req(r.addr, 'GET', '/v2/tok/a/tags/list', { headers: { Authorization: `Bearer ${res.json().access_token}` } })).status, 200);
  // dockerd searches with the Basic credentials of `docker login`, not a token: accepted for search alone.
  res = await req(r.addr, 'GET', '/v1/search?q=tok', { headers: basic('alice', 'wonderland') });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json().results.map((x: { name: string }) => x.name), ['tok/a', 'tok/b']);
  assert.equal((await req(r.addr, 'GET', '/v1/search?q=tok', { headers: basic('alice', 'nope') })).status, 401);
  assert.equal((await req(r.addr, 'GET', '/v2/tok/a/tags/list', { headers: basic('alice', 'wonderland') })).status, 401);
  // The server went on serving throughout.
  assert.equal((await req(r.addr, 'GET', '/v2/tok/a/manifests/v1', { headers: bearer })).status, 200);
});

test('TLS: a certificate from a test CA, with Basic auth', async () => {
  const dir = path.join(tmp, 'tls');
  await fsp.mkdir(dir);
  const sh = (args: string[]) => execFileP('openssl', args, { cwd: dir });
  await sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=berth test CA']);
  await sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  await fsp.writeFile(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  await sh(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf']);
  const ca = await fsp.readFile(path.join(dir, 'ca.crt'));
  const r = await start(['--tls-cert', path.join(dir, 'server.crt'), '--tls-key', path.join(dir, 'server.key'), '--htpasswd', path.join(tmp, 'htpasswd')]);
  assert.match(r.log(), /\(TLS\)/);
  assert.equal((await req(r.addr, 'GET', '/v2/', { ca })).status, 401);
  const h = basic('alice', 'wonderland');
  assert.equal((await req(r.addr, 'GET', '/v2/', { ca, headers: h })).status, 200);
  const img = await pushImage(r.addr, 'secure/img', 'v1', [Buffer.from('over tls')], { ca, headers: h });
  assert.deepEqual((await req(r.addr, 'GET', '/v2/secure/img/manifests/v1', { ca, headers: h })).body, img.manifest);
  // A real client over TLS: skopeo trusts the test CA from a cert dir, and logs in with Basic.
  const certDir = path.join(dir, 'certs');
  await fsp.mkdir(certDir);
  await fsp.copyFile(path.join(dir, 'ca.crt'), path.join(certDir, 'ca.crt'));
  const { stdout } = await execFileP('skopeo', ['inspect', '--raw', '--cert-dir', certDir, '--creds', 'alice:wonderland', `docker://${r.addr}/secure/img:v1`]);
  assert.equal(sha256(stdout), img.digest);
  await assert.rejects(execFileP('skopeo', ['inspect', '--raw', '--creds', 'alice:wonderland', `docker://${r.addr}/secure/img:v1`]));
  // Without the CA the certificate is not trusted; plain HTTP gets no registry.
  await assert.rejects(req(r.addr, 'GET', '/v2/', { tls: true }));
  const plain = await req(r.addr, 'GET', '/v2/').catch(() => undefined);
  assert.ok(!plain || plain.status === 400 || plain.status === 0);
});

test('config file and flags: read-only, deletes disabled, upload limit (UNSUPPORTED, TOOMANYREQUESTS)', async () => {
  const main = await start([]);
  const img = await pushImage(main.addr, 'conf/img', 'v1', [Buffer.from('conf')]);
  // A read-only server on the same root serves pulls and refuses every write.
  const ro = await start(['--read-only'], main.root);
  assert.equal((await req(ro.addr, 'GET', '/v2/conf/img/manifests/v1')).status, 200);
  for (const [m, p] of [['POST', '/v2/conf/img/blobs/uploads/'], ['PUT', '/v2/conf/img/manifests/v2'], ['DELETE', `/v2/conf/img/manifests/${img.digest}`]] as const) {
    const res = await req(ro.addr, m, p, { body: m === 'PUT' ? img.manifest : '' });
    assert.equal(res.status, 405, `${m} ${p}`);
    assert.equal(errCode(res), 'UNSUPPORTED');
  }
  const cfg = path.join(tmp, 'limits.yml');
  await fsp.writeFile(cfg, ['storage:', '  delete:', '    enabled: false', 'http:', '  maxuploads: 1', ''].join('\n'));
  const lim = await start(['--config', cfg], main.root);
  let res = await req(lim.addr, 'DELETE', `/v2/conf/img/manifests/${img.digest}`);
  assert.equal(res.status, 405);
  assert.equal(errCode(res), 'UNSUPPORTED');
  res = await req(lim.addr, 'DELETE', `/v2/conf/img/blobs/${img.blobs[0]}`);
  assert.equal(errCode(res), 'UNSUPPORTED');
  const first = await req(lim.addr, 'POST', '/v2/conf/img/blobs/uploads/');
  assert.equal(first.status, 202);
  res = await req(lim.addr, 'POST', '/v2/conf/img/blobs/uploads/');
  assert.equal(res.status, 429);
  assert.equal(errCode(res), 'TOOMANYREQUESTS');
  // Pulls go on; once the session ends, uploads are accepted again.
  assert.equal((await req(lim.addr, 'GET', `/v2/conf/img/blobs/${img.blobs[1]}`)).text, 'conf');
  assert.equal((await req(lim.addr, 'DELETE', first.headers.location!)).status, 204);
  assert.equal(await pushBlob(lim.addr, 'conf/img', 'after'), sha256('after'));
});
