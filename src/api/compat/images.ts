/** Image endpoints: /images/create (import), /images/json, inspect, tag, delete. */
import type { Readable } from 'node:stream';
import type { ImageSummary } from '../../common/api/image.js';
import type { Engine } from '../../engine/engine.js';
import { EngineError, errorMessage, invalid } from '../../engine/errors.js';
import { importUrl, openImportUrl } from '../../engine/image/import-url.js';
import { diskUsage } from '../../engine/system.js';
import { boolParam, filtersParam, sendEmpty, sendJson } from '../context.js';
import { JsonMessageStream } from '../jsonstream.js';
import type { Router } from '../router.js';
import { diskUsageCompat, imageInspectCompat, imageListCompat, imageListCountsContainers, imageListFilters } from './versions.js';
import { pullImage } from './distribution.js';

export function imageRoutes(router: Router, engine: Engine): void {
  const images = engine.images;

  router.on('POST', '/images/create', async ({ req, res, query }) => {
    const fromSrc = query.get('fromSrc');
    const fromImage = query.get('fromImage');
    if (fromSrc !== null) {
      // Errors become the status until a message has gone out, then travel in the stream (moby's postImagesCreate).
      const stream = new JsonMessageStream(res);
      let body: Readable = req;
      if (fromSrc !== '-') {
        // `docker import URL`: the daemon downloads the tarball itself, as dockerd does, and says so first.
        req.resume();
        const url = importUrl(fromSrc);
        body = await openImportUrl(url);
        stream.status(`Downloading from ${url.href}`);
      }
      try {
        const img = await images.importTarball(body, {
          repo: query.get('repo') || undefined,
          tag: query.get('tag') || undefined,
          message: query.get('message') || undefined,
          changes: query.getAll('changes'),
        });
        stream.status(img.id);
        stream.end();
      } catch (err) {
        body.destroy();
        stream.fail(err);
      }
      return;
    }
    if (fromImage) {
      await pullImage(engine, req, res, query);
      return;
    }
    throw invalid('fromSrc or fromImage must be set');
  });

  router.on('GET', '/images/json', async ({ res, query, version }) => {
    const list = await images.list({
      all: boolParam(query, 'all'),
      filters: imageListFilters(version, query, filtersParam(query)),
      containers: imageListCountsContainers(version),
    });
    imageListCompat(version, list as ImageSummary[]);
    sendJson(res, 200, list);
  });

  router.on('POST', '/images/prune', async ({ res, query }) => {
    sendJson(res, 200, await images.prune(filtersParam(query)));
  });

  router.on('GET', '/system/df', async ({ res, version }) => {
    const df = await diskUsage(engine);
    diskUsageCompat(version, df);
    sendJson(res, 200, df);
  });

  router.on('GET', '/images/{name:.*}/json', async ({ res, params, version }) => {
    const out = await images.inspect(params.name!);
    imageInspectCompat(version, out);
    sendJson(res, 200, out);
  });

  router.on('POST', '/images/{name:.*}/tag', async ({ res, params, query }) => {
    const repo = query.get('repo');
    if (!repo) throw invalid('repository name must have at least one component');
    await images.tag(params.name!, repo, query.get('tag') || undefined);
    sendEmpty(res, 201);
  });

  router.on('DELETE', '/images/{name:.*}', async ({ res, params, query }) => {
    try {
      sendJson(res, 200, await images.remove(params.name!, boolParam(query, 'force')));
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError('system', errorMessage(err));
    }
  });
}
