/**
 * The API server's limits on a real socket, in-process with a few routes:
 * header size, header deadlines (slow and silent clients), body caps, and
 * that long-lived hijacked and streamed responses outlive every deadline.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { Router } from './router.js';
import { createApiServer, startHijackedStream } from './server.js';
import { readJsonBody, sendJson } from './context.js';
import { containerCreateBody } from './body/docker.js';
import { jsonDepth, MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH } from './limits.js';

const HEADERS_TIMEOUT = 400;
let dir: string;
let socket: string;
let server: http.Server;

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-limits-'));
  socket = path.join(dir, 'api.sock');
  const router = new Router()
    .on('GET', '/_ping', async ({ res }) => {
      res.writeHead(200);
      res.end('OK');
    })
    .on('POST', '/containers/create', async ({ req, res }) => {
      sendJson(res, 201, { body: await readJsonBody(req, containerCreateBody) });
    })
    // A stream that writes every 100 ms for 1.5 s, like logs -f or events.
    .on('GET', '/events', async ({ res }) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (let i = 0; i < 15; i++) {
        res.write(`{"n":${i}}\n`);
        await new Promise((r) => setTimeout(r, 100));
      }
      res.end();
    })
    // An echo over a hijacked connection, like attach.
    .onHijack('POST', '/containers/{id}/attach', async (ctx) => {
      startHijackedStream(ctx, 'application/vnd.docker.raw-stream');
      ctx.socket.pipe(ctx.socket);
      await new Promise((r) => ctx.socket.once('close', r));
    });
  server = createApiServer(router, { debug: () => undefined, error: () => undefined }, undefined, { headersTimeoutMs: HEADERS_TIMEOUT, checkIntervalMs: 100 });
  await new Promise<void>((r) => server.listen(socket, r));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function raw(write: (s: net.Socket) => void): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect(socket);
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    // The server may close while a huge request is still being written.
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    s.on('close', () => resolve({ text: Buffer.concat(chunks).toString(), closedAfterMs: Date.now() - t0 }));
    s.on('connect', () => write(s));
  });
}

function request(method: string, p: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: p, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('headers up to 1 MiB are read (a build\'s X-Registry-Config); over it the answer is 431', async () => {
  const big = await request('GET', '/_ping', undefined, { 'X-Registry-Config': 'e'.repeat(600 << 10) });
  assert.equal(big.status, 200);
  const over = await raw((s) => s.write(`GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'e'.repeat(1100 << 10)}\r\n\r\n`));
  assert.match(over.text, /^HTTP\/1\.1 431 Request Header Fields Too Large/);
});

test('a client that stops half-way through its headers is cut off with a 408; one that sends nothing is closed', async () => {
  const slow = await raw((s) => s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n'));
  assert.match(slow.text, /^HTTP\/1\.1 408 Request Timeout/);
  assert.ok(slow.closedAfterMs >= HEADERS_TIMEOUT, `closed after ${slow.closedAfterMs} ms`);
  const silent = await raw(() => undefined);
  assert.equal(silent.text, '');
  assert.ok(silent.closedAfterMs >= HEADERS_TIMEOUT, `closed after ${silent.closedAfterMs} ms`);
});

test('a keep-alive connection serves its second request after the header deadline has passed', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () => new Promise<number>((resolve, reject) => {
    http.get({ socketPath: socket, path: '/_ping', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
  assert.equal(await get(), 200);
  await new Promise((r) => setTimeout(r, HEADERS_TIMEOUT * 2));
  assert.equal(await get(), 200);
  agent.destroy();
});

test('streamed responses and hijacked connections outlive the header deadline', async () => {
  const events = await request('GET', '/events');
  assert.equal(events.status, 200);
  assert.equal(events.body.trim().split('\n').length, 15);

  const s = net.connect(socket);
  s.write('POST /containers/x/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString()));
  await new Promise((r) => setTimeout(r, HEADERS_TIMEOUT * 4));
  s.write('still here');
  await new Promise((r) => setTimeout(r, 200));
  assert.match(got, /^HTTP\/1\.1 101 UPGRADED/);
  assert.match(got, /still here$/);
  assert.ok(!s.destroyed);
  s.destroy();
});

test('a JSON body over 16 MiB is a 413 before it is read, and the connection closes', async () => {
  const r = await raw((s) => s.write(`POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MAX_JSON_BODY_BYTES + 1}\r\n\r\n{"Image":`));
  assert.match(r.text, /^HTTP\/1\.1 413 Payload Too Large/);
  assert.match(r.text, /Connection: close/i);
  assert.match(r.text, /"message":"request body too large: a JSON body may be at most 16 MiB"/);
  // Chunked, so the size is only known while reading.
  const chunked = await request('POST', '/containers/create', Buffer.alloc(MAX_JSON_BODY_BYTES + 10, 0x20), { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  assert.equal(chunked.status, 413);
});

test('JSON nesting deeper than 64 is a 400; a real body passes', async () => {
  const deep = `{"Labels":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
  const r = await request('POST', '/containers/create', deep, { 'Content-Type': 'application/json' });
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.body).message, 'invalid JSON: exceeded max depth (64)');
  // A hundred thousand levels: refused by the scan, never parsed.
  const huge = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.equal((await request('POST', '/containers/create', huge)).status, 400);
  const ok = await request('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { Mounts: [{ Type: 'volume', VolumeOptions: { DriverConfig: { Options: { a: 'b' } } } }] } }));
  assert.equal(ok.status, 201);
});

test('jsonDepth counts brackets outside strings only', () => {
  assert.equal(jsonDepth(Buffer.from('{"a":"[[[[{{{{\\"[[["}')), 1);
  assert.equal(jsonDepth(Buffer.from('[[{"a":[1]}]]')), 4);
  assert.equal(jsonDepth(Buffer.from('"\\\\"')), 0);
});

test('trailing content and empty-but-for-space bodies get dockerd\'s messages', async () => {
  const trailing = await request('POST', '/containers/create', '{"Image":"a"} {}');
  assert.equal(trailing.status, 400);
  assert.equal(JSON.parse(trailing.body).message, 'unexpected content after JSON');
  const blank = await request('POST', '/containers/create', '   ');
  assert.equal(JSON.parse(blank.body).message, 'invalid JSON: got EOF while reading request body');
});
