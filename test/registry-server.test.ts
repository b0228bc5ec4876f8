/**
 * `berth registry serve`, open (no auth): every endpoint of the distribution
 * spec v1.1 and every error the issue lists, against the real server in its
 * own process, with a plain HTTP client so each status, header and body is
 * checked as the spec states it.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import net from 'node:net';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BERTH } from './helpers/daemon.js';
import { errCode, listFiles, pushBlob, pushImage, req, sha256, startRegistry, type TestRegistry } from './helpers/berth-registry.js';

let reg: TestRegistry;
let A = '';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

before(async () => {
  reg = await startRegistry(['--max-blob-size', '1GB']);
  A = reg.addr;
});
after(async () => {
  await reg?.cleanup();
});

test('/v2/ answers 200 with the API version header', async () => {
  const r = await req(A, 'GET', '/v2/');
  assert.equal(r.status, 200);
  assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
  assert.equal((await req(A, 'HEAD', '/v2/')).status, 200);
});

test('blobs: single-POST upload, HEAD, GET, Range, DELETE', async () => {
  const data = Buffer.from('0123456789abcdef'.repeat(64));
  const d = sha256(data);
  const post = await req(A, 'POST', `/v2/blob/one/blobs/uploads/?digest=${d}`, { body: data });
  assert.equal(post.status, 201);
  assert.equal(post.headers.location, `/v2/blob/one/blobs/${d}`);
  assert.equal(post.headers['docker-content-digest'], d);
  const head = await req(A, 'HEAD', `/v2/blob/one/blobs/${d}`);
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(data.length));
  assert.equal(head.headers['docker-content-digest'], d);
  assert.equal(head.body.length, 0);
  const get = await req(A, 'GET', `/v2/blob/one/blobs/${d}`);
  assert.deepEqual(get.body, data);
  const part = await req(A, 'GET', `/v2/blob/one/blobs/${d}`, { headers: { Range: 'bytes=16-31' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 16-31/${data.length}`);
  assert.deepEqual(part.body, data.subarray(16, 32));
  const tail = await req(A, 'GET', `/v2/blob/one/blobs/${d}`, { headers: { Range: 'bytes=1000-' } });
  assert.deepEqual(tail.body, data.subarray(1000));
  const bad = await req(A, 'GET', `/v2/blob/one/blobs/${d}`, { headers: { Range: `bytes=${data.length}-` } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers['content-range'], `bytes */${data.length}`);
  // Blobs are per repository: another repository does not see it.
  const other = await req(A, 'GET', `/v2/blob/two/blobs/${d}`);
  assert.equal(other.status, 404);
  assert.equal(errCode(other), 'BLOB_UNKNOWN');
  assert.equal((await req(A, 'DELETE', `/v2/blob/one/blobs/${d}`)).status, 202);
  const gone = await req(A, 'GET', `/v2/blob/one/blobs/${d}`);
  assert.equal(gone.status, 404);
  assert.equal(errCode(gone), 'BLOB_UNKNOWN');
  assert.equal((await req(A, 'DELETE', `/v2/blob/one/blobs/${d}`)).status, 404);
});

test('blobs: POST then PUT, and chunked PATCHes with Content-Range, status GET, 416 out of order', async () => {
  const data = Buffer.alloc(300_000, 7);
  for (let i = 0; i < data.length; i += 97) data[i] = i & 0xff;
  const d = sha256(data);
  // POST then PUT (monolithic)
  let r = await req(A, 'POST', '/v2/up/mono/blobs/uploads/');
  assert.equal(r.status, 202);
  assert.match(r.headers.location!, /^\/v2\/up\/mono\/blobs\/uploads\/[0-9a-f-]{36}$/);
  assert.equal(r.headers.range, '0-0');
  assert.ok(r.headers['docker-upload-uuid']);
  r = await req(A, 'PUT', `${r.headers.location}?digest=${d}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201);
  assert.equal(r.headers['docker-content-digest'], d);
  assert.deepEqual((await req(A, 'GET', `/v2/up/mono/blobs/${d}`)).body, data);

  // Chunked
  r = await req(A, 'POST', '/v2/up/chunked/blobs/uploads/', { headers: { 'Content-Length': 0 } });
  const loc = r.headers.location!;
  const uuid = r.headers['docker-upload-uuid'];
  r = await req(A, 'PATCH', loc, { body: data.subarray(0, 100_000), headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 202);
  assert.equal(r.headers.range, '0-99999');
  assert.equal(r.headers['docker-upload-uuid'], uuid);
  // Out of order: starts past the end.
  r = await req(A, 'PATCH', loc, { body: data.subarray(150_000, 200_000), headers: { 'Content-Range': '150000-199999' } });
  assert.equal(r.status, 416);
  assert.equal(r.headers.range, '0-99999');
  // A chunk again from 0: also out of order.
  r = await req(A, 'PATCH', loc, { body: data.subarray(0, 10), headers: { 'Content-Range': '0-9' } });
  assert.equal(r.status, 416);
  // Content-Range not matching the body's length: SIZE_INVALID.
  r = await req(A, 'PATCH', loc, { body: data.subarray(100_000, 100_010), headers: { 'Content-Range': '100000-100099' } });
  assert.equal(r.status, 400);
  assert.equal(errCode(r), 'SIZE_INVALID');
  r = await req(A, 'PATCH', loc, { body: data.subarray(100_000, 100_010), headers: { 'Content-Range': 'garbage' } });
  assert.equal(r.status, 400);
  assert.equal(errCode(r), 'BLOB_UPLOAD_INVALID');
  // Status
  r = await req(A, 'GET', loc);
  assert.equal(r.status, 204);
  assert.equal(r.headers.range, '0-99999');
  assert.equal(r.headers.location, loc);
  assert.equal(r.headers['docker-upload-uuid'], uuid);
  r = await req(A, 'PATCH', loc, { body: data.subarray(100_000, 250_000), headers: { 'Content-Range': '100000-249999' } });
  assert.equal(r.status, 202);
  assert.equal(r.headers.range, '0-249999');
  // The last chunk in the closing PUT.
  r = await req(A, 'PUT', `${loc}?digest=${d}`, { body: data.subarray(250_000), headers: { 'Content-Range': '250000-299999' } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual((await req(A, 'GET', `/v2/up/chunked/blobs/${d}`)).body, data);
  // The session is over.
  r = await req(A, 'GET', loc);
  assert.equal(r.status, 404);
  assert.equal(errCode(r), 'BLOB_UPLOAD_UNKNOWN');
});

test('uploads: a wrong digest is DIGEST_INVALID and stores nothing; DELETE cancels; bad digests are refused', async () => {
  const before = (await listFiles(path.join(reg.root, 'content', 'blobs'))).length;
  let r = await req(A, 'POST', '/v2/bad/digest/blobs/uploads/');
  const loc = r.headers.location!;
  r = await req(A, 'PUT', `${loc}?digest=${sha256('something else')}`, { body: 'the real bytes' });
  assert.equal(r.status, 400);
  assert.equal(errCode(r), 'DIGEST_INVALID');
  assert.equal((await listFiles(path.join(reg.root, 'content', 'blobs'))).length, before);
  assert.equal((await req(A, 'GET', loc)).status, 404);
  r = await req(A, 'POST', `/v2/bad/digest/blobs/uploads/?digest=sha256:nothex`, { body: 'x' });
  assert.equal(errCode(r), 'DIGEST_INVALID');
  r = await req(A, 'PUT', `${(await req(A, 'POST', '/v2/bad/digest/blobs/uploads/')).headers.location}`, { body: 'no digest' });
  assert.equal(errCode(r), 'DIGEST_INVALID');
  // Cancel
  r = await req(A, 'POST', '/v2/bad/digest/blobs/uploads/');
  const l2 = r.headers.location!;
  await req(A, 'PATCH', l2, { body: 'abc' });
  assert.equal((await req(A, 'DELETE', l2)).status, 204);
  assert.equal((await req(A, 'GET', l2)).status, 404);
  assert.equal((await req(A, 'GET', '/v2/bad/digest/blobs/uploads/00000000-0000-0000-0000-000000000000')).status, 404);
  // An upload of another repository is not this one's.
  r = await req(A, 'POST', '/v2/bad/digest/blobs/uploads/');
  const other = await req(A, 'GET', r.headers.location!.replace('/bad/digest/', '/bad/other/'));
  assert.equal(errCode(other), 'BLOB_UPLOAD_UNKNOWN');
  assert.equal(await fsp.readdir(path.join(reg.root, 'content', 'ingest')).then((l) => l.length > 0), true);
});

test('cross-repository mount: 201 when the source has the blob, a new session (202) otherwise', async () => {
  const d = await pushBlob(A, 'mount/src', 'mount me');
  let r = await req(A, 'POST', `/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`);
  assert.equal(r.status, 201);
  assert.equal(r.headers.location, `/v2/mount/dst/blobs/${d}`);
  assert.equal(r.headers['docker-content-digest'], d);
  assert.equal((await req(A, 'GET', `/v2/mount/dst/blobs/${d}`)).text, 'mount me');
  r = await req(A, 'POST', `/v2/mount/dst2/blobs/uploads/?mount=${sha256('absent')}&from=mount/src`);
  assert.equal(r.status, 202);
  assert.ok(r.headers.location);
});

test('manifests: PUT by tag and digest, GET/HEAD with the pushed media type, missing blobs, bad JSON, digest mismatch, size limit', async () => {
  const img = await pushImage(A, 'man/img', 'v1', [Buffer.from('layer one'), Buffer.from('layer two')]);
  let r = await req(A, 'GET', '/v2/man/img/manifests/v1', { headers: { Accept: OCI_MANIFEST } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], OCI_MANIFEST);
  assert.equal(r.headers['docker-content-digest'], img.digest);
  assert.deepEqual(r.body, img.manifest);
  r = await req(A, 'HEAD', `/v2/man/img/manifests/${img.digest}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(img.manifest.length));
  // By digest (stored byte for byte), then Docker schema 2 with its own media type.
  r = await req(A, 'PUT', `/v2/man/img/manifests/${img.digest}`, { body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(r.status, 201);
  assert.equal(r.headers.location, `/v2/man/img/manifests/${img.digest}`);
  const docker = Buffer.from(JSON.parse(JSON.stringify(img.manifest.toString()).replace(/x/g, 'x')).replace(OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json').replace('application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json'));
  r = await req(A, 'PUT', '/v2/man/img/manifests/docker', { body: docker, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(r.status, 201, r.text);
  r = await req(A, 'GET', '/v2/man/img/manifests/docker');
  assert.equal(r.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json');
  // Index over both
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }] }));
  r = await req(A, 'PUT', '/v2/man/img/manifests/multi', { body: index, headers: { 'Content-Type': OCI_INDEX } });
  assert.equal(r.status, 201, r.text);
  assert.equal((await req(A, 'GET', '/v2/man/img/manifests/multi')).headers['content-type'], OCI_INDEX);
  // An index naming a manifest the repository lacks.
  const badIndex = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('nope'), size: 4 }] });
  r = await req(A, 'PUT', '/v2/man/img/manifests/badindex', { body: badIndex, headers: { 'Content-Type': OCI_INDEX } });
  assert.equal(r.status, 400);
  assert.equal(errCode(r), 'MANIFEST_BLOB_UNKNOWN');
  // A manifest naming a missing layer: nothing is stored, the tag does not exist.
  const missing = JSON.parse(img.manifest.toString());
  missing.layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256('missing layer'), size: 13 });
  r = await req(A, 'PUT', '/v2/man/img/manifests/missing', { body: JSON.stringify(missing), headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(r.status, 400);
  assert.equal(errCode(r), 'MANIFEST_BLOB_UNKNOWN');
  assert.equal((await req(A, 'GET', '/v2/man/img/manifests/missing')).status, 404);
  assert.equal((await req(A, 'GET', `/v2/man/img/manifests/${sha256(JSON.stringify(missing))}`)).status, 404);
  // A layer pushed to another repository only is missing here too.
  const elsewhere = await pushBlob(A, 'man/other', 'only there');
  missing.layers[2] = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: elsewhere, size: 10 };
  r = await req(A, 'PUT', '/v2/man/img/manifests/missing', { body: JSON.stringify(missing), headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(errCode(r), 'MANIFEST_BLOB_UNKNOWN');
  for (const [body, ct] of [['{not json', OCI_MANIFEST], ['{"schemaVersion":1}', OCI_MANIFEST], ['{"schemaVersion":2,"mediaType":"text/plain"}', 'text/plain'], [img.manifest.toString(), OCI_INDEX]]) {
    r = await req(A, 'PUT', '/v2/man/img/manifests/broken', { body: body!, headers: { 'Content-Type': ct! } });
    assert.equal(r.status, 400, body);
    assert.equal(errCode(r), 'MANIFEST_INVALID', body);
  }
  r = await req(A, 'PUT', `/v2/man/img/manifests/${sha256('other')}`, { body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(errCode(r), 'DIGEST_INVALID');
  const huge = await rawRequest(A, `PUT /v2/man/img/manifests/huge HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCI_MANIFEST}\r\nContent-Length: ${5 * 1024 * 1024}\r\n\r\n{"schemaVersion":2,`);
  assert.match(huge, /^HTTP\/1.1 413/);
  r = await req(A, 'GET', '/v2/man/img/manifests/nosuchtag');
  assert.equal(r.status, 404);
  assert.equal(errCode(r), 'MANIFEST_UNKNOWN');
  r = await req(A, 'GET', '/v2/never/pushed/manifests/latest');
  assert.equal(r.status, 404);
  assert.equal(errCode(r), 'NAME_UNKNOWN');
  r = await req(A, 'GET', '/v2/man/img/manifests/bad!tag');
  assert.equal(r.status, 400);
  // The manifest is a blob of the repository too.
  assert.deepEqual((await req(A, 'GET', `/v2/man/img/blobs/${img.digest}`)).body, img.manifest);
});

test('referrers: OCI-Subject on push, the referrers index, artifactType filter, subject pushed later', async () => {
  const img = await pushImage(A, 'ref/img', 'latest', [Buffer.from('ref layer')]);
  const empty = await pushBlob(A, 'ref/img', '{}');
  const artifact = (type: string, subject: string, annotations: Record<string, string>) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: type,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }],
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: img.manifest.length },
        annotations,
      }),
    );
  const sbom = artifact('application/vnd.example.sbom.v1', img.digest, { 'org.example.kind': 'sbom' });
  const sig = artifact('application/vnd.example.sig.v1', img.digest, { 'org.example.kind': 'sig' });
  for (const a of [sbom, sig]) {
    const r = await req(A, 'PUT', `/v2/ref/img/manifests/${sha256(a)}`, { body: a, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(r.status, 201);
    assert.equal(r.headers['oci-subject'], img.digest);
  }
  let r = await req(A, 'GET', `/v2/ref/img/referrers/${img.digest}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], OCI_INDEX);
  const ix = r.json();
  assert.equal(ix.schemaVersion, 2);
  assert.equal(ix.mediaType, OCI_INDEX);
  assert.deepEqual(ix.manifests.map((m: { digest: string }) => m.digest).sort(), [sha256(sbom), sha256(sig)].sort());
  const sbomDesc = ix.manifests.find((m: { digest: string }) => m.digest === sha256(sbom));
  assert.deepEqual(sbomDesc, { mediaType: OCI_MANIFEST, digest: sha256(sbom), size: sbom.length, artifactType: 'application/vnd.example.sbom.v1', annotations: { 'org.example.kind': 'sbom' } });
  r = await req(A, 'GET', `/v2/ref/img/referrers/${img.digest}?artifactType=application/vnd.example.sig.v1`);
  assert.equal(r.headers['oci-filters-applied'], 'artifactType');
  assert.deepEqual(r.json().manifests.map((m: { digest: string }) => m.digest), [sha256(sig)]);
  // A subject that does not exist (yet) is accepted; no referrers is an empty list, never 404.
  const orphan = artifact('application/vnd.example.sbom.v1', sha256('future'), {});
  assert.equal((await req(A, 'PUT', '/v2/ref/img/manifests/orphan', { body: orphan, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
  assert.equal((await req(A, 'GET', `/v2/ref/img/referrers/${sha256('future')}`)).json().manifests.length, 1);
  r = await req(A, 'GET', `/v2/ref/img/referrers/${sha256('none')}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().manifests, []);
  assert.equal((await req(A, 'GET', '/v2/ref/img/referrers/sha256:zzz')).status, 400);
  // Deleting a referrer takes it out of the list.
  assert.equal((await req(A, 'DELETE', `/v2/ref/img/manifests/${sha256(sig)}`)).status, 202);
  assert.deepEqual((await req(A, 'GET', `/v2/ref/img/referrers/${img.digest}`)).json().manifests.map((m: { digest: string }) => m.digest), [sha256(sbom)]);
});

test('tags/list and _catalog paginate with n, last and Link', async () => {
  const tags = ['b', 'A', 'c', 'a1', 'd'];
  const img = await pushImage(A, 'tags/img', tags[0]!, [Buffer.from('t')]);
  for (const t of tags.slice(1)) assert.equal((await req(A, 'PUT', `/v2/tags/img/manifests/${t}`, { body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
  let r = await req(A, 'GET', '/v2/tags/img/tags/list');
  assert.deepEqual(r.json(), { name: 'tags/img', tags: ['A', 'a1', 'b', 'c', 'd'] });
  r = await req(A, 'GET', '/v2/tags/img/tags/list?n=2');
  assert.deepEqual(r.json().tags, ['A', 'a1']);
  assert.equal(r.headers.link, '</v2/tags/img/tags/list?last=a1&n=2>; rel="next"');
  r = await req(A, 'GET', '/v2/tags/img/tags/list?n=2&last=a1');
  assert.deepEqual(r.json().tags, ['b', 'c']);
  r = await req(A, 'GET', '/v2/tags/img/tags/list?n=2&last=c');
  assert.deepEqual(r.json().tags, ['d']);
  assert.equal(r.headers.link, undefined);
  r = await req(A, 'GET', '/v2/tags/img/tags/list?n=0');
  assert.deepEqual(r.json().tags, []);
  assert.equal(r.headers.link, undefined);
  r = await req(A, 'GET', '/v2/tags/img/tags/list?last=b');
  assert.deepEqual(r.json().tags, ['c', 'd']);
  r = await req(A, 'GET', '/v2/no/such/repo/tags/list');
  assert.equal(r.status, 404);
  assert.equal(errCode(r), 'NAME_UNKNOWN');
  r = await req(A, 'GET', '/v2/_catalog');
  const all = r.json().repositories as string[];
  assert.ok(all.includes('tags/img') && all.includes('man/img') && all.includes('blob/one'));
  assert.deepEqual([...all].sort(), all);
  r = await req(A, 'GET', '/v2/_catalog?n=1');
  assert.equal(r.json().repositories.length, 1);
  assert.equal(r.headers.link, `</v2/_catalog?last=${encodeURIComponent(all[0]!)}&n=1>; rel="next"`);
  r = await req(A, 'GET', `/v2/_catalog?n=100&last=${encodeURIComponent(all[0]!)}`);
  assert.deepEqual(r.json().repositories, all.slice(1));
});

test('DELETE of a tag and of a manifest', async () => {
  const img = await pushImage(A, 'del/img', 'one', [Buffer.from('del')]);
  await req(A, 'PUT', '/v2/del/img/manifests/two', { body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal((await req(A, 'DELETE', '/v2/del/img/manifests/one')).status, 202);
  assert.equal((await req(A, 'GET', '/v2/del/img/manifests/one')).status, 404);
  assert.equal((await req(A, 'GET', '/v2/del/img/manifests/two')).status, 200);
  assert.equal((await req(A, 'DELETE', '/v2/del/img/manifests/one')).status, 404);
  assert.equal((await req(A, 'DELETE', `/v2/del/img/manifests/${img.digest}`)).status, 202);
  assert.equal((await req(A, 'GET', '/v2/del/img/manifests/two')).status, 404);
  assert.equal(errCode(await req(A, 'GET', `/v2/del/img/manifests/${img.digest}`)), 'MANIFEST_UNKNOWN');
  assert.deepEqual((await req(A, 'GET', '/v2/del/img/tags/list')).json().tags, []);
  assert.equal(errCode(await req(A, 'DELETE', '/v2/nothing/here/manifests/x')), 'NAME_UNKNOWN');
});

test('bad names are NAME_INVALID on every route; an unknown method is UNSUPPORTED', async () => {
  for (const p of ['/v2/UPPER/tags/list', '/v2/a..b/manifests/x', '/v2/-lead/blobs/uploads/', `/v2/tr@il/blobs/${sha256('x')}`, '/v2/a//b/tags/list', `/v2/${'a'.repeat(256)}/tags/list`]) {
    const r = await req(A, p.endsWith('uploads/') ? 'POST' : 'GET', p);
    assert.equal(r.status, 400, p);
    assert.equal(errCode(r), 'NAME_INVALID', p);
  }
  const r = await req(A, 'POST', '/v2/ok/tags/list');
  assert.equal(r.status, 405);
  assert.equal(errCode(r), 'UNSUPPORTED');
});

test('search finds repositories by substring in Docker Hub\'s v1 shape', async () => {
  await pushImage(A, 'library/busybox', 'latest', [Buffer.from('bb')], { annotations: { 'org.opencontainers.image.description': 'tiny tools' } });
  await pushImage(A, 'me/busy-app', 'v1', [Buffer.from('ba')]);
  let r = await req(A, 'GET', '/v1/search?q=busy&n=25');
  assert.equal(r.status, 200);
  const s = r.json();
  assert.equal(s.query, 'busy');
  assert.equal(s.num_results, 2);
  assert.equal(s.page, 1);
  assert.equal(s.page_size, 25);
  assert.equal(s.num_pages, 1);
  assert.deepEqual(s.results[0], { name: 'library/busybox', description: 'tiny tools', star_count: 0, is_official: false, is_automated: false });
  assert.equal(s.results[1].name, 'me/busy-app');
  r = await req(A, 'GET', '/v1/search?q=busy&n=1&page=2');
  assert.equal(r.json().num_pages, 2);
  assert.deepEqual(r.json().results.map((x: { name: string }) => x.name), ['me/busy-app']);
  assert.equal((await req(A, 'GET', '/v1/search?q=zzzz')).json().num_results, 0);
});

test('a 10 GB declared upload is refused before any byte is stored', async () => {
  const ingestBefore = await listFiles(path.join(reg.root, 'content', 'ingest'));
  // Single POST with a declared body: refused from the headers (the client waits for 100-continue and sends nothing).
  const r = await rawRequest(A, `POST /v2/big/one/blobs/uploads/?digest=${sha256('x')} HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\nExpect: 100-continue\r\n\r\n`);
  assert.match(r, /^HTTP\/1.1 413/);
  assert.match(r, /SIZE_INVALID/);
  // A chunk whose Content-Range ends past the limit.
  const s = await req(A, 'POST', '/v2/big/one/blobs/uploads/');
  const p = await rawRequest(A, `PATCH ${s.headers.location} HTTP/1.1\r\nHost: x\r\nContent-Range: 0-10737418239\r\nContent-Length: 10737418240\r\n\r\nsome bytes`);
  assert.match(p, /^HTTP\/1.1 413/);
  assert.equal((await req(A, 'GET', s.headers.location!)).headers.range, '0-0');
  await req(A, 'DELETE', s.headers.location!);
  assert.deepEqual(await listFiles(path.join(reg.root, 'content', 'ingest')), ingestBefore);
  assert.equal((await req(A, 'GET', '/v2/')).status, 200);
});

test('a body cut off mid-upload leaves no blob and the server serving', async () => {
  const blobsBefore = await listFiles(path.join(reg.root, 'content', 'blobs'));
  const s = await req(A, 'POST', '/v2/cut/one/blobs/uploads/');
  const full = Buffer.alloc(1_000_000, 1);
  // The PUT declares 1 MB and the client hangs up after 100 kB.
  await new Promise<void>((resolve) => {
    const [host, port] = A.split(':');
    const sock = net.connect(Number(port), host!, () => {
      sock.write(`PUT ${s.headers.location}?digest=${sha256(full)} HTTP/1.1\r\nHost: x\r\nContent-Length: ${full.length}\r\n\r\n`);
      sock.write(full.subarray(0, 100_000), () => setTimeout(() => sock.destroy(), 200));
    });
    sock.on('close', () => resolve());
    sock.on('error', () => undefined);
  });
  // A cut PATCH keeps what arrived (resumable), a cut closing PUT ends the session; neither makes a blob.
  for (let i = 0; i < 50 && (await req(A, 'GET', s.headers.location!)).status !== 404; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await req(A, 'GET', s.headers.location!)).status, 404);
  assert.deepEqual(await listFiles(path.join(reg.root, 'content', 'blobs')), blobsBefore);
  assert.equal((await req(A, 'GET', `/v2/cut/one/blobs/${sha256(full)}`)).status, 404);
  // A cut PATCH keeps what reached the disk (the store writes in 1 MiB batches), so the push can resume.
  const big = Buffer.alloc(3_000_000, 2);
  const p = await req(A, 'POST', '/v2/cut/two/blobs/uploads/');
  await new Promise<void>((resolve) => {
    const [host, port] = A.split(':');
    const sock = net.connect(Number(port), host!, () => {
      sock.write(`PATCH ${p.headers.location} HTTP/1.1\r\nHost: x\r\nContent-Range: 0-${big.length - 1}\r\nContent-Length: ${big.length}\r\n\r\n`);
      sock.write(big.subarray(0, 1_500_000), () => setTimeout(() => sock.destroy(), 300));
    });
    sock.on('close', () => resolve());
    sock.on('error', () => undefined);
  });
  let st = await req(A, 'GET', p.headers.location!);
  for (let i = 0; i < 50 && st.headers.range === '0-0'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    st = await req(A, 'GET', p.headers.location!);
  }
  assert.equal(st.status, 204);
  const got = Number(st.headers.range!.split('-')[1]) + 1;
  assert.ok(got >= 1 << 20 && got <= 1_500_000, st.headers.range);
  // Resume from where it stopped.
  const r = await req(A, 'PUT', `${p.headers.location}?digest=${sha256(big)}`, { body: big.subarray(got), headers: { 'Content-Range': `${got}-${big.length - 1}` } });
  assert.equal(r.status, 201, r.text);
  assert.equal((await req(A, 'GET', '/v2/')).status, 200);
});

test('upload sessions survive a restart of the server', async () => {
  const root = reg.root;
  const s = await req(A, 'POST', '/v2/restart/img/blobs/uploads/');
  await req(A, 'PATCH', s.headers.location!, { body: 'first half,', headers: { 'Content-Range': '0-10' } });
  const r2 = await startRegistry([], { root });
  try {
    const st = await req(r2.addr, 'GET', s.headers.location!);
    assert.equal(st.status, 204);
    assert.equal(st.headers.range, '0-10');
  } finally {
    await r2.cleanup();
  }
});

test('stale upload sessions expire, their bytes with them', async () => {
  const r = await startRegistry(['--upload-expiry', '1s']);
  try {
    const s = await req(r.addr, 'POST', '/v2/stale/img/blobs/uploads/');
    await req(r.addr, 'PATCH', s.headers.location!, { body: 'abandoned', headers: { 'Content-Range': '0-8' } });
    let st = await req(r.addr, 'GET', s.headers.location!);
    for (let i = 0; i < 100 && st.status === 204; i++) {
      await new Promise((res) => setTimeout(res, 100));
      st = await req(r.addr, 'GET', s.headers.location!);
    }
    assert.equal(st.status, 404, `upload status after expiry: ${st.status} ${st.body.toString()}`);
    assert.equal(errCode(st), 'BLOB_UPLOAD_UNKNOWN');
    const ingest = path.join(r.root, 'content', 'ingest');
    const left = await fsp.readdir(ingest);
    const detail = await Promise.all(left.map(async (n) => `${n}: ${(await fsp.readdir(path.join(ingest, n)).catch((e: Error) => [e.message])).join(',')}`));
    assert.deepEqual(left, [], `left in ingest/: ${detail.join('; ')}\n${r.log()}`);
  } finally {
    await r.cleanup();
  }
});

test('berth registry gc --delete-untagged removes what no tag reaches, keeping referrers of tagged images', async () => {
  const r = await startRegistry(['--gc-interval', '0']);
  const gc = async (...extra: string[]) => (await promisify(execFile)(process.execPath, ['--', BERTH, 'registry', 'gc', '--root', r.root, '--gc-grace', '0s', ...extra])).stdout;
  try {
    const a = await pushImage(r.addr, 'ut/img', 'keep', [Buffer.from('kept layer')]);
    const b = await pushImage(r.addr, 'ut/img', 'tmp', [Buffer.from('dropped layer')]);
    const empty = await pushBlob(r.addr, 'ut/img', '{}');
    const sig = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sig', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }, layers: [], subject: { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length } }));
    assert.equal((await req(r.addr, 'PUT', `/v2/ut/img/manifests/${sha256(sig)}`, { body: sig, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length }] }));
    assert.equal((await req(r.addr, 'PUT', `/v2/ut/img/manifests/${sha256(index)}`, { body: index, headers: { 'Content-Type': OCI_INDEX } })).status, 201);
    assert.equal((await req(r.addr, 'DELETE', '/v2/ut/img/manifests/tmp')).status, 202);
    const dry = await gc('--delete-untagged', '--dry-run');
    assert.match(dry, new RegExp(`would remove untagged manifest ut/img@${b.digest}`));
    assert.match(dry, new RegExp(`would remove untagged manifest ut/img@${sha256(index)}`));
    assert.doesNotMatch(dry, new RegExp(`${a.digest}|${sha256(sig)}`));
    assert.equal((await req(r.addr, 'GET', `/v2/ut/img/manifests/${b.digest}`)).status, 200);
    // Without the flag, untagged manifests are roots: nothing of b goes.
    assert.match(await gc(), /deleted 0 blobs/);
    const out = await gc('--delete-untagged');
    assert.match(out, /deleted 2 untagged manifests and 4 blobs/);
    assert.equal((await req(r.addr, 'GET', `/v2/ut/img/manifests/${b.digest}`)).status, 404);
    assert.equal((await req(r.addr, 'GET', `/v2/ut/img/manifests/${sha256(index)}`)).status, 404);
    // b's config and layer, and both manifests' own bytes.
    for (const d of [...b.blobs, b.digest, sha256(index)]) assert.equal((await req(r.addr, 'GET', `/v2/ut/img/blobs/${d}`)).status, 404);
    for (const d of [a.digest, sha256(sig)]) assert.equal((await req(r.addr, 'GET', `/v2/ut/img/manifests/${d}`)).status, 200);
    for (const d of a.blobs) assert.equal((await req(r.addr, 'GET', `/v2/ut/img/blobs/${d}`)).status, 200);
    assert.deepEqual((await req(r.addr, 'GET', `/v2/ut/img/referrers/${a.digest}`)).json().manifests.map((m: { digest: string }) => m.digest), [sha256(sig)]);
  } finally {
    await r.cleanup();
  }
});

/** Sends raw bytes and returns what comes back before the server closes or 2 s pass. */
function rawRequest(addr: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const [host, port] = addr.split(':');
    let out = '';
    const sock = net.connect(Number(port), host!, () => sock.write(text));
    sock.on('data', (b) => {
      out += b.toString();
      if (/\r\n\r\n[\s\S]*\}\]\}/.test(out)) sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(out));
    setTimeout(() => sock.destroy(), 2000);
  });
}
