/**
 * `docker search` and `berth search` against a v1 search endpoint served
 * here (Docker Hub's response shape): the term names the registry, the
 * daemon applies filters and the limit, and both CLIs print the same table,
 * truncated or not, or a --format template.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { berth, docker, startDaemon, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;
let server: http.Server;
let host = '';
const queries: { q: string | null; n: string | null }[] = [];

const RESULTS = [
  { name: 'busybox', description: 'Busybox base image, small and complete; the swiss army knife of embedded Linux', star_count: 3200, is_official: true, is_automated: false },
  { name: 'someone/busybox-tools', description: 'tools', star_count: 12, is_official: false, is_automated: true },
  { name: 'other/busy', description: 'line one\nline two', star_count: 3, is_official: false, is_automated: false },
];

before(async () => {
  d = await startDaemon();
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/v2/') return void res.writeHead(200).end('{}');
    if (u.pathname !== '/v1/search') return void res.writeHead(404).end();
    queries.push({ q: u.searchParams.get('q'), n: u.searchParams.get('n') });
    const q = u.searchParams.get('q') ?? '';
    const results = RESULTS.filter((r) => r.name.includes(q));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ num_results: results.length, query: q, results }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  await d?.cleanup();
  await new Promise((r) => server?.close(r));
});

test('docker search: the registry in the term is asked, the table is docker\'s; berth prints the same', async () => {
  const r = await docker(d, ['search', `${host}/busy`]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL$/);
  assert.equal(lines.length, 4);
  assert.match(lines[1]!, /^busybox\s+Busybox base image, small and complete; the …\s+3200\s+\[OK\]$/);
  assert.deepEqual(queries.at(-1), { q: 'busy', n: '25' });
  const b = await berth(d, ['search', `${host}/busy`]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, r.stdout);
});

test('search filters, --limit, --no-trunc and --format, the same through both CLIs', async () => {
  for (const args of [
    ['--filter', 'is-official=true'],
    ['--filter', 'stars=10'],
    ['--filter', 'is-automated=true', '--format', '{{.Name}}: {{.StarCount}} {{.IsOfficial}}'],
    ['--limit', '1'],
    ['--no-trunc'],
  ]) {
    const r = await docker(d, ['search', ...args, `${host}/busy`]);
    assert.equal(r.code, 0, r.stderr);
    const b = await berth(d, ['search', ...args, `${host}/busy`]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, r.stdout, args.join(' '));
  }
  const off = await docker(d, ['search', '--filter', 'is-official=true', '--format', '{{.Name}}', `${host}/busy`]);
  assert.equal(off.stdout, 'busybox\n');
  const stars = await docker(d, ['search', '--filter', 'stars=10', '--format', '{{.Name}}', `${host}/busy`]);
  assert.equal(stars.stdout, 'busybox\nsomeone/busybox-tools\n');
  const lim = await docker(d, ['search', '--limit', '1', '--format', '{{.Name}}', `${host}/busy`]);
  assert.equal(lim.stdout, 'busybox\n');
  const full = await docker(d, ['search', '--no-trunc', '--format', '{{.Description}}', `${host}/busy`]);
  assert.match(full.stdout, /swiss army knife of embedded Linux\n/);
});

test('bad search input: an unknown filter, a limit out of range', async () => {
  let r = await docker(d, ['search', '--filter', 'color=red', `${host}/busy`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid filter 'color'/);
  r = await berth(d, ['search', '--limit', '200', `${host}/busy`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /limit 200 is outside the range of \[1, 100\]/);
});
