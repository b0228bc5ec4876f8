/**
 * Request limits and body validation against a real berthd: a thousand idle
 * connections do not keep other clients out; every JSON body is checked
 * against its Docker type with the field named in a 400, unknown fields are
 * dropped as dockerd drops them, huge references are refused; and nothing
 * stored changes on a refused request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemon();
  const { tar } = await busyboxRootfs();
  const r = await docker(d, ['import', tar, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await d?.cleanup();
});

/** What a refused request must leave alone: the lists of images, containers, networks and volumes. */
async function stored(): Promise<string> {
  const parts = [];
  for (const p of ['/images/json?all=1', '/containers/json?all=1', '/networks', '/volumes']) parts.push((await api(d.socket, 'GET', p)).body.toString());
  return parts.join('\n');
}

async function refused(method: string, p: string, body: unknown, status: number, message: string | RegExp): Promise<void> {
  const before = await stored();
  const r = await api(d.socket, method, p, body);
  assert.equal(r.status, status, r.body.toString());
  const m = r.json<{ message: string }>().message;
  if (typeof message === 'string') assert.equal(m, message);
  else assert.match(m, message);
  assert.equal(await stored(), before);
}

test('a client holding 1000 idle connections does not stop others: /_ping and a container list still answer', async () => {
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 1000; i++) {
      sockets.push(await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(d.socket, () => resolve(s));
        s.on('error', reject);
      }));
    }
    // Half of them have begun a request and stalled mid-headers.
    for (const s of sockets.slice(0, 500)) s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n');
    const ping = await api(d.socket, 'GET', '/_ping');
    assert.equal(ping.status, 200);
    const list = await api(d.socket, 'GET', '/containers/json?all=1');
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.json()));
    assert.equal((await docker(d, ['ps', '-a'])).code, 0);
    assert.ok(sockets.every((s) => !s.destroyed), 'the idle connections are still open: nothing was refused to make room');
  } finally {
    for (const s of sockets) s.destroy();
  }
});

test('wrong types in create, update, exec, network and volume bodies are 400s naming the field', async () => {
  await refused('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: '1g' } }, 400, 'invalid JSON: HostConfig.Memory: must be an integer, not a string');
  await refused('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } }, 400, 'invalid JSON: HostConfig.PortBindings["80/tcp"][0].HostPort: must be a string, not the number 8080');
  await refused('POST', '/containers/create', { Image: ['busybox'] }, 400, 'invalid JSON: Image: must be a string, not an array');
  const c = await api(d.socket, 'POST', '/containers/create?name=target', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(c.status, 201);
  await refused('POST', '/containers/target/update', { Memory: true }, 400, 'invalid JSON: Memory: must be an integer, not a boolean');
  await refused('POST', '/containers/target/update', { BlkioWeight: 100000 }, 400, 'invalid JSON: BlkioWeight: 100000 is out of range for uint16');
  await refused('POST', '/containers/target/exec', { Cmd: 'ls' }, 400, 'invalid JSON: Cmd: must be an array, not a string');
  await refused('POST', '/networks/create', { Name: 'n', Labels: { a: 1 } }, 400, 'invalid JSON: Labels["a"]: must be a string, not the number 1');
  await refused('POST', '/volumes/create', { Name: 'v', Labels: 'x' }, 400, 'invalid JSON: Labels: must be an object, not a string');
  await refused('POST', '/commit?container=target', { Env: 'A=1' }, 400, 'invalid JSON: Env: must be an array, not a string');
  // X-Registry-Auth carries AuthConfig's JSON: checked the same way, before any registry is asked.
  const badAuth = Buffer.from(JSON.stringify({ username: 5 })).toString('base64url');
  const pull = await api(d.socket, 'POST', '/images/create?fromImage=127.0.0.1:9/x&tag=1', undefined, { 'X-Registry-Auth': badAuth });
  assert.equal(pull.status, 400, pull.body.toString());
  assert.equal(pull.json<{ message: string }>().message, 'invalid JSON: username: must be a string, not the number 5');
  assert.equal((await api(d.socket, 'DELETE', '/containers/target')).status, 204);
});

test('deep nesting and malformed JSON are 400s and store nothing', async () => {
  await refused('POST', '/containers/create', `{"Image":"busybox","Cmd":["true"],"Labels":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`, 400, 'invalid JSON: exceeded max depth (64)');
  await refused('POST', '/volumes/create', '[[[[', 400, /^invalid JSON: /);
});

test('unknown fields are ignored as dockerd ignores them, and never reach the record', async () => {
  const c = await api(d.socket, 'POST', '/containers/create?name=extra', { Image: 'busybox', Cmd: 'true', Bogus: { x: 1 }, HostConfig: { Memory: 8 << 20, MadeUp: true } });
  assert.equal(c.status, 201, c.body.toString());
  const inspect = await api(d.socket, 'GET', '/containers/extra/json');
  const body = inspect.body.toString();
  assert.doesNotMatch(body, /Bogus|MadeUp/);
  const j = inspect.json<{ Config: { Cmd: string[] }; HostConfig: { Memory: number } }>();
  // Cmd is a StrSlice in moby: a string is a one-element list.
  assert.deepEqual(j.Config.Cmd, ['true']);
  assert.equal(j.HostConfig.Memory, 8 << 20);
  // Go matches keys case-insensitively.
  const lower = await api(d.socket, 'POST', '/containers/create?name=lower', { image: 'busybox', cmd: ['echo', 'hi'] });
  assert.equal(lower.status, 201, lower.body.toString());
  assert.deepEqual((await api(d.socket, 'GET', '/containers/lower/json')).json<{ Config: { Cmd: string[] } }>().Config.Cmd, ['echo', 'hi']);
  for (const n of ['extra', 'lower']) assert.equal((await api(d.socket, 'DELETE', `/containers/${n}`)).status, 204);
});

test('a 10 000-character reference is a 400 with dockerd\'s message, wherever it comes', async () => {
  const long = 'a'.repeat(10_000);
  const upper = 'A'.repeat(10_000);
  await refused('POST', '/containers/create', { Image: long, Cmd: ['true'] }, 400, 'repository name must not be more than 255 characters');
  await refused('POST', '/containers/create', { Image: `busybox:${'t'.repeat(10_000)}`, Cmd: ['true'] }, 400, /invalid reference format/);
  await refused('POST', `/images/busybox/tag?repo=${upper}&tag=x`, undefined, 400, /^invalid reference format: repository name \(library\/A+\) must be lowercase$/);
  await refused('POST', `/images/create?fromImage=${long}%21`, undefined, 400, /invalid reference format/);
  const rmi = await api(d.socket, 'DELETE', `/images/${long}`);
  assert.ok(rmi.status === 400 || rmi.status === 404, `status ${rmi.status}`);
  const cli = await docker(d, ['create', `${upper}:x`]);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /invalid reference format/);
});
