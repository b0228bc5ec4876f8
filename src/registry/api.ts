/**
 * @module registry/api
 * The distribution spec's endpoints, one handler each, over the registry's
 * services. The server (./server.ts) has already checked the name and the
 * access; a handler checks its own parameters, does the work and answers
 * with the spec's status and headers (`Location`, `Docker-Content-Digest`,
 * `Range`, `Docker-Upload-UUID`, `OCI-Subject`, `Link`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { createHash, randomBytes } from 'node:crypto';
import { parseDigest, type Digest } from '../common/reference/digest.js';
import { isRepositoryPath, isTag } from '../common/reference/reference.js';
import { MT_OCI_INDEX, type Descriptor } from '../common/oci.js';
import { writeBlob } from '../engine/content/content.js';
import { errorKind } from '../engine/errors.js';
import { regError, RegistryError } from './errors.js';
import { parseManifest, referrerDescriptor } from './manifests.js';
import { lexical } from './repositories.js';
import type { Registry } from './registry.js';
import { search } from './search.js';
import { parseContentRange, type Session } from './uploads.js';

export interface Ctx {
  reg: Registry;
  req: IncomingMessage & { expectsContinue?: boolean };
  res: ServerResponse;
  url: URL;
  method: string;
  name: string;
  /** The path's last part: a reference, digest or upload UUID. */
  param: string;
  account: string;
  origin: string;
}

function send(ctx: Ctx, status: number, headers: Record<string, string | number>, body?: string | Buffer): void {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  ctx.res.writeHead(status, { 'Content-Length': b?.length ?? 0, ...headers });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : b);
}

function json(ctx: Ctx, status: number, value: unknown, headers: Record<string, string | number> = {}): void {
  send(ctx, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

function digestParam(s: string | null | undefined): Digest {
  if (!s) throw regError('DIGEST_INVALID', 'digest missing');
  try {
    return parseDigest(s);
  } catch (err) {
    // A well-formed digest of an algorithm the store does not keep is unsupported, not invalid.
    if (/unsupported/.test((err as Error).message)) throw regError('UNSUPPORTED', `digest algorithm not supported: ${s}`);
    throw regError('DIGEST_INVALID', `invalid digest ${JSON.stringify(s)}: ${(err as Error).message}`);
  }
}

/** The request body, after a `100 Continue` when the client waits for one. */
function body(ctx: Ctx): IncomingMessage {
  if (ctx.req.expectsContinue) {
    ctx.req.expectsContinue = false;
    ctx.res.writeContinue();
  }
  return ctx.req;
}

function contentLength(ctx: Ctx): number | undefined {
  const v = ctx.req.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw regError('SIZE_INVALID', `invalid Content-Length ${v}`);
  return n;
}

/** Whether the request carries a body at all. */
function hasBody(ctx: Ctx): boolean {
  const n = ctx.req.headers['content-length'];
  return (n !== undefined && n !== '0') || ctx.req.headers['transfer-encoding'] !== undefined;
}

async function readSmallBody(ctx: Ctx, max: number): Promise<Buffer> {
  const declared = contentLength(ctx);
  if (declared !== undefined && declared > max) throw regError('MANIFEST_INVALID', `manifest of ${declared} bytes exceeds the limit of ${max}`, undefined, 413);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body(ctx)) {
    n += (c as Buffer).length;
    if (n > max) throw regError('MANIFEST_INVALID', `manifest exceeds the limit of ${max} bytes`, undefined, 413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const uploadLocation = (ctx: Ctx, uuid: string) => `/v2/${ctx.name}/blobs/uploads/${uuid}`;
const blobLocation = (ctx: Ctx, d: Digest) => `/v2/${ctx.name}/blobs/${d}`;
const rangeHeader = (offset: number) => `0-${Math.max(offset - 1, 0)}`;

async function uploadState(ctx: Ctx, s: Session): Promise<Record<string, string | number>> {
  return { Location: uploadLocation(ctx, s.uuid), Range: rangeHeader(await ctx.reg.uploads.offset(s)), 'Docker-Upload-UUID': s.uuid };
}

/** A 416 carries where the upload stands, so the client can resume without asking. */
async function withUploadState<T>(ctx: Ctx, s: Session, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RegistryError && err.status === 416) err.withHeaders(await uploadState(ctx, s).catch(() => ({})) as Record<string, string>);
    throw err;
  }
}

/** Pagination of `n` and `last` over a sorted list (tags, catalog): the page and the `Link` to the next one. */
function paginate(ctx: Ctx, all: string[], pathOf: (n: number, last: string) => string): { items: string[]; link?: string } {
  const nRaw = ctx.url.searchParams.get('n');
  const last = ctx.url.searchParams.get('last');
  let items = last ? all.filter((t) => lexical(t, last) > 0) : all;
  if (nRaw === null || nRaw === '') return { items };
  const n = Number(nRaw);
  if (!Number.isInteger(n) || n < 0) throw regError('PAGINATION_NUMBER_INVALID', `invalid number of results requested: ${nRaw}`);
  if (n === 0) return { items: [] };
  const more = items.length > n;
  items = items.slice(0, n);
  return more ? { items, link: `<${pathOf(n, items[items.length - 1]!)}>; rel="next"` } : { items };
}

// ---- handlers

async function base(ctx: Ctx): Promise<void> {
  json(ctx, 200, {});
}

async function catalog(ctx: Ctx): Promise<void> {
  const all = (await ctx.reg.repos.list()).filter((n) => ctx.reg.auth.allows(ctx.account, 'repository', n, 'pull'));
  const { items, link } = paginate(ctx, all, (n, last) => `/v2/_catalog?last=${encodeURIComponent(last)}&n=${n}`);
  json(ctx, 200, { repositories: items }, link ? { Link: link } : {});
}

async function tags(ctx: Ctx): Promise<void> {
  if (!(await ctx.reg.repos.exists(ctx.name))) throw regError('NAME_UNKNOWN', 'repository name not known to registry', { name: ctx.name });
  const all = await ctx.reg.repos.tags(ctx.name);
  const { items, link } = paginate(ctx, all, (n, last) => `/v2/${ctx.name}/tags/list?last=${encodeURIComponent(last)}&n=${n}`);
  json(ctx, 200, { name: ctx.name, tags: items }, link ? { Link: link } : {});
}

async function searchHandler(ctx: Ctx): Promise<void> {
  // Search answers anonymous callers only on an open registry; otherwise the caller must be allowed the catalog.
  ctx.account = await ctx.reg.auth.authorize({ authorization: ctx.req.headers.authorization, origin: ctx.origin }, [{ type: 'registry', name: 'catalog', action: 'search' }]);
  const q = ctx.url.searchParams.get('q') ?? '';
  const r = await search(ctx.reg.repos, ctx.reg.content, q, {
    n: Number(ctx.url.searchParams.get('n') ?? 25),
    page: Number(ctx.url.searchParams.get('page') ?? 1),
    visible: (n) => ctx.reg.auth.allows(ctx.account, 'repository', n, 'pull'),
  });
  json(ctx, 200, r);
}

async function token(ctx: Ctx): Promise<void> {
  const tokens = ctx.reg.tokens;
  if (!tokens) throw regError('UNSUPPORTED', 'this registry issues no tokens', undefined, 404);
  let scopes = ctx.url.searchParams.getAll('scope');
  let service = ctx.url.searchParams.get('service') ?? undefined;
  let authorization = ctx.req.headers.authorization;
  if (ctx.method === 'POST') {
    // OAuth2 password grant (registry-auth/oauth.md), as `docker login` may use.
    const form = new URLSearchParams((await readSmallBody(ctx, 64 * 1024)).toString('utf8'));
    const grant = form.get('grant_type');
    if (grant !== 'password') throw regError('UNSUPPORTED', `unsupported grant_type ${JSON.stringify(grant)}`, undefined, 400);
    authorization = `Basic ${Buffer.from(`${form.get('username') ?? ''}:${form.get('password') ?? ''}`).toString('base64')}`;
    scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    service = form.get('service') ?? service;
  }
  json(ctx, 200, await tokens.issue(authorization, scopes, service));
}

async function blobGet(ctx: Ctx): Promise<void> {
  const d = digestParam(ctx.param);
  const { repos, content, leases } = ctx.reg;
  if (!(await repos.hasBlob(ctx.name, d))) throw regError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: d });
  let r;
  try {
    r = await content.reader(d);
  } catch (err) {
    if (errorKind(err) === 'notfound') throw regError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: d });
    throw err;
  }
  try {
    void leases.blobPulled(ctx.name).catch(() => undefined);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': d,
      'Accept-Ranges': 'bytes',
      ETag: `"${d}"`,
      'Cache-Control': 'max-age=31536000',
    };
    const range = parseRange(ctx.req.headers.range, r.size);
    if (range === 'unsatisfiable') {
      throw regError('RANGE_INVALID', 'requested range not satisfiable').withHeaders({ 'Content-Range': `bytes */${r.size}` });
    }
    if (ctx.method === 'HEAD') {
      ctx.res.writeHead(200, { ...headers, 'Content-Length': r.size });
      ctx.res.end();
      return;
    }
    if (range) {
      ctx.res.writeHead(206, { ...headers, 'Content-Length': range.length, 'Content-Range': `bytes ${range.start}-${range.start + range.length - 1}/${r.size}` });
      if (range.length > 0) await pipeline(r.stream(range.start, range.length), ctx.res);
      else ctx.res.end();
      return;
    }
    ctx.res.writeHead(200, { ...headers, 'Content-Length': r.size });
    if (r.size === 0) ctx.res.end();
    else await pipeline(r.stream(0), ctx.res);
  } finally {
    await r.close().catch(() => undefined);
  }
}

/** RFC 9110 single byte ranges: `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else is ignored (whole blob). */
function parseRange(h: string | undefined, size: number): { start: number; length: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? 'unsatisfiable' : { start: size - n, length: n };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, length: end - start + 1 };
}

async function blobDelete(ctx: Ctx): Promise<void> {
  const d = digestParam(ctx.param);
  // Only the repository's link goes; the collector takes the bytes once nothing refers to them.
  if (!(await ctx.reg.repos.unlinkBlob(ctx.name, d))) throw regError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: d });
  send(ctx, 202, {});
}

async function uploadStart(ctx: Ctx): Promise<void> {
  const { reg } = ctx;
  const mount = ctx.url.searchParams.get('mount');
  const from = ctx.url.searchParams.get('from');
  if (mount && from) {
    const d = digestParam(mount);
    if (await mountable(ctx, d, from)) {
      await reg.repos.linkBlob(ctx.name, d);
      send(ctx, 201, { Location: blobLocation(ctx, d), 'Docker-Content-Digest': d });
      return;
    }
    // Not mountable (unknown there, or no pull access): an ordinary upload session instead, as the spec allows.
  }
  const digestQ = ctx.url.searchParams.get('digest');
  const expected = digestQ !== null ? digestParam(digestQ) : undefined;
  if (expected === undefined) {
    const s = await reg.uploads.start(ctx.name);
    send(ctx, 202, { Location: uploadLocation(ctx, s.uuid), Range: '0-0', 'Docker-Upload-UUID': s.uuid });
    return;
  }
  // Single-POST monolithic upload.
  const length = contentLength(ctx);
  await reg.uploads.checkSize(0, length);
  const s = await reg.uploads.start(ctx.name);
  await finishUpload(ctx, s, expected, length, undefined);
}

async function mountable(ctx: Ctx, d: Digest, from: string): Promise<boolean> {
  const { reg } = ctx;
  if (!isRepositoryPath(from) || !(await reg.repos.hasBlob(from, d))) return false;
  if (!(await reg.content.info(d).then(() => true, () => false))) return false;
  try {
    await reg.auth.authorize({ authorization: ctx.req.headers.authorization, origin: ctx.origin }, [{ type: 'repository', name: from, action: 'pull' }]);
    return true;
  } catch {
    return false;
  }
}

/** Appends a final chunk (if any), commits as `expected`, links the blob: 201. Any failure drops the session. */
async function finishUpload(ctx: Ctx, s: Session, expected: Digest, length: number | undefined, range: ReturnType<typeof parseContentRange>): Promise<void> {
  const { reg } = ctx;
  if (range === 'invalid') throw regError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${ctx.req.headers['content-range']}`);
  try {
    if (hasBody(ctx)) await reg.uploads.append(s, body(ctx), range, length);
    const info = await reg.uploads.finish(s, expected);
    await reg.repos.linkBlob(ctx.name, info.digest);
    send(ctx, 201, { Location: blobLocation(ctx, info.digest), 'Docker-Content-Digest': info.digest });
  } catch (err) {
    // A 416 leaves the session as it was (the client may resume); anything else ends it, leaving nothing behind.
    if (!(err instanceof RegistryError && err.status === 416)) await reg.uploads.cancel(s).catch(() => undefined);
    throw err;
  }
}

async function uploadStatus(ctx: Ctx): Promise<void> {
  const s = ctx.reg.uploads.get(ctx.name, ctx.param);
  send(ctx, 204, await uploadState(ctx, s));
}

async function uploadPatch(ctx: Ctx): Promise<void> {
  const s = ctx.reg.uploads.get(ctx.name, ctx.param);
  const range = parseContentRange(ctx.req.headers['content-range']);
  if (range === 'invalid') throw regError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${ctx.req.headers['content-range']}`);
  const length = contentLength(ctx);
  await withUploadState(ctx, s, () => ctx.reg.uploads.append(s, body(ctx), range, length));
  send(ctx, 202, await uploadState(ctx, s));
}

async function uploadPut(ctx: Ctx): Promise<void> {
  const s = ctx.reg.uploads.get(ctx.name, ctx.param);
  const expected = digestParam(ctx.url.searchParams.get('digest'));
  await withUploadState(ctx, s, () => finishUpload(ctx, s, expected, contentLength(ctx), parseContentRange(ctx.req.headers['content-range'])));
}

async function uploadCancel(ctx: Ctx): Promise<void> {
  const s = ctx.reg.uploads.get(ctx.name, ctx.param);
  await ctx.reg.uploads.cancel(s);
  send(ctx, 204, {});
}

/** A manifest reference: a digest, or a tag. */
function reference(ref: string): { digest?: Digest; tag?: string } {
  if (ref.includes(':')) return { digest: digestParam(ref) };
  if (!isTag(ref)) throw regError('MANIFEST_INVALID', `invalid tag ${JSON.stringify(ref)}`, { tag: ref });
  return { tag: ref };
}

async function manifestGet(ctx: Ctx): Promise<void> {
  const { repos, content, leases } = ctx.reg;
  const ref = reference(ctx.param);
  const digest = ref.digest ?? (await repos.resolveTag(ctx.name, ref.tag!));
  const rec = digest && (await repos.manifest(ctx.name, digest));
  if (!digest || !rec) {
    if (!(await repos.exists(ctx.name))) throw regError('NAME_UNKNOWN', 'repository name not known to registry', { name: ctx.name });
    throw regError('MANIFEST_UNKNOWN', 'manifest unknown', ref.tag ? { tag: ref.tag } : { digest });
  }
  const bytes = await content.readAll(digest).catch(() => undefined);
  if (!bytes) throw regError('MANIFEST_UNKNOWN', 'manifest unknown', { digest });
  if (ctx.method === 'GET') await leases.manifestPulled(ctx.name, digest).catch(() => undefined);
  send(ctx, 200, { 'Content-Type': rec.mediaType, 'Docker-Content-Digest': digest, ETag: `"${digest}"` }, bytes);
}

async function manifestPut(ctx: Ctx): Promise<void> {
  const { reg } = ctx;
  const ref = reference(ctx.param);
  const bytes = await readSmallBody(ctx, reg.cfg.maxManifestSize);
  const parsed = parseManifest(bytes, ctx.req.headers['content-type']);
  const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (ref.digest && ref.digest !== digest) throw regError('DIGEST_INVALID', `manifest digest ${digest} does not match ${ref.digest}`, { digest: ref.digest });
  const missing: Digest[] = [];
  for (const b of parsed.blobs) {
    if (!(await reg.repos.hasBlob(ctx.name, b)) || !(await reg.content.info(b).then(() => true, () => false))) missing.push(b);
  }
  for (const m of parsed.manifests) {
    if (!(await reg.repos.manifest(ctx.name, m))) missing.push(m);
  }
  if (missing.length) throw regError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown blobs: ${missing.join(', ')}`, { digest: missing[0], missing });
  await writeBlob(reg.content, `registry-manifest-${randomBytes(8).toString('hex')}`, bytes, { expected: digest });
  const subject = parsed.subject?.digest;
  const referrer: Descriptor | undefined = subject ? referrerDescriptor(parsed, digest, bytes.length) : undefined;
  // The manifest is also a blob of the repository (clients may fetch it from /blobs/, as from distribution).
  await reg.repos.linkBlob(ctx.name, digest);
  await reg.repos.putManifest(ctx.name, { digest, mediaType: parsed.mediaType, size: bytes.length, ...(subject ? { subject } : {}) }, ref.tag, referrer);
  send(ctx, 201, { Location: `/v2/${ctx.name}/manifests/${digest}`, 'Docker-Content-Digest': digest, ...(subject ? { 'OCI-Subject': subject } : {}) });
}

async function manifestDelete(ctx: Ctx): Promise<void> {
  const { repos } = ctx.reg;
  const ref = reference(ctx.param);
  if (!(await repos.exists(ctx.name))) throw regError('NAME_UNKNOWN', 'repository name not known to registry', { name: ctx.name });
  const ok = ref.tag ? await repos.deleteTag(ctx.name, ref.tag) : await repos.deleteManifest(ctx.name, ref.digest!);
  if (!ok) throw regError('MANIFEST_UNKNOWN', 'manifest unknown', ref.tag ? { tag: ref.tag } : { digest: ref.digest });
  send(ctx, 202, {});
}

async function referrers(ctx: Ctx): Promise<void> {
  const d = digestParam(ctx.param);
  let list = await ctx.reg.repos.referrers(ctx.name, d);
  const filter = ctx.url.searchParams.get('artifactType');
  const headers: Record<string, string> = { 'Content-Type': MT_OCI_INDEX };
  if (filter) {
    list = list.filter((x) => x.artifactType === filter);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  send(ctx, 200, headers, JSON.stringify({ schemaVersion: 2, mediaType: MT_OCI_INDEX, manifests: list }));
}

export const handlers = {
  base,
  catalog,
  tags,
  search: searchHandler,
  token,
  blobGet,
  blobDelete,
  uploadStart,
  uploadStatus,
  uploadPatch,
  uploadPut,
  uploadCancel,
  manifestGet,
  manifestPut,
  manifestDelete,
  referrers,
} satisfies Record<string, (ctx: Ctx) => Promise<void>>;
