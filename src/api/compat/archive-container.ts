/**
 * Files in and out of containers: `HEAD`/`GET`/`PUT /containers/{id}/archive`
 * (`docker cp`: stat a path, download a path as a tar, extract a tar into a
 * directory) and `GET /containers/{id}/export` (`docker export`). The engine
 * side is src/engine/container/archive.ts.
 */
import { PassThrough } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import { invalid } from '../../engine/errors.js';
import { archivePath, exportContainer, extractToDir, statPath, type PathStat } from '../../engine/container/archive.js';
import { boolParam, drain, sendEmpty } from '../context.js';
import type { Router } from '../router.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** The header value: base64 of the JSON of moby's PathStat, fields in Go's order. */
function encodeStat(s: PathStat): string {
  const json = JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget });
  return Buffer.from(json).toString('base64');
}

/** moby's httputils.ArchiveFormValues: `path` is required. */
function pathParam(query: URLSearchParams): string {
  const p = query.get('path');
  if (!p) throw invalid('bad parameter: path cannot be empty');
  return p;
}

export function containerArchiveRoutes(router: Router, engine: Engine): void {
  router.on('HEAD', '/containers/{id}/archive', async ({ res, params, query }) => {
    const stat = await statPath(engine.containers, params.id!, pathParam(query));
    res.writeHead(200, { [STAT_HEADER]: encodeStat(stat) });
    res.end();
  });

  router.on('GET', '/containers/{id}/archive', async ({ res, params, query }) => {
    await archivePath(engine.containers, params.id!, pathParam(query), (stat) => {
      res.writeHead(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: encodeStat(stat) });
      return res;
    });
    if (!res.destroyed) res.end();
  });

  router.on('PUT', '/containers/{id}/archive', async ({ req, res, params, query }) => {
    // The extractor destroys its input on error; the request itself must survive to carry the answer.
    const body = new PassThrough();
    req.pipe(body);
    // pipe() does not pass on a client hanging up mid-upload; without this the extraction would wait forever.
    req.once('close', () => {
      if (!req.readableEnded) body.destroy(new Error('the client closed the connection'));
    });
    try {
      await extractToDir(engine.containers, params.id!, pathParam(query), body, {
        noOverwriteDirNonDir: boolParam(query, 'noOverwriteDirNonDir'),
        copyUIDGID: boolParam(query, 'copyUIDGID'),
      });
    } catch (err) {
      req.unpipe(body);
      await drain(req);
      throw err;
    }
    sendEmpty(res, 200);
  });

  router.on('GET', '/containers/{id}/export', async ({ res, params }) => {
    await exportContainer(engine.containers, params.id!, () => {
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      return res;
    });
    if (!res.destroyed) res.end();
  });
}
