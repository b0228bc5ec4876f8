/**
 * Image archive endpoints: `GET /images/get` and `GET /images/{name}/get`
 * (`docker save`, a streamed tar) and `POST /images/load` (`docker load`, a
 * tar in, Docker's JSON message stream out).
 */
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Engine } from '../../engine/engine.js';
import { errorMessage, invalid } from '../../engine/errors.js';
import { loadArchive } from '../../engine/image/archive/load.js';
import { saveImages } from '../../engine/image/archive/save.js';
import type { Platform } from '../../common/oci.js';
import { boolParam, drain } from '../context.js';
import { JsonMessageStream } from '../jsonstream.js';
import type { Router } from '../router.js';

/** The `platform` query parameter (JSON-encoded OCI platform, API 1.48+): only one is supported. */
function platformParam(q: URLSearchParams): Platform | undefined {
  const all = q.getAll('platform').filter((p) => p !== '');
  if (all.length === 0) return undefined;
  if (all.length > 1) throw invalid('multiple platforms are not supported');
  try {
    const p = JSON.parse(all[0]!) as Partial<Platform>;
    if (typeof p?.os !== 'string' || typeof p.architecture !== 'string') throw new Error('os and architecture are required');
    return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
  } catch (err) {
    throw invalid(`invalid platform: ${errorMessage(err)}`);
  }
}

async function sendArchive(res: ServerResponse, engine: Engine, names: string[]): Promise<void> {
  const tar = await saveImages(engine.images, names);
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await pipeline(tar, res);
  } catch (err) {
    // The client hung up: nothing to report to anyone.
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw err;
  }
}

export function archiveRoutes(router: Router, engine: Engine): void {
  router.on('GET', '/images/get', async ({ res, query }) => {
    platformParam(query);
    await sendArchive(res, engine, query.getAll('names'));
  });

  router.on('GET', '/images/{name:.*}/get', async ({ res, params, query }) => {
    platformParam(query);
    await sendArchive(res, engine, [params.name!]);
  });

  router.on('POST', '/images/load', async ({ req, res, query }) => {
    // dockerd's default is quiet; the CLI sends quiet=0 only to a terminal.
    const quiet = query.has('quiet') ? boolParam(query, 'quiet') : true;
    const platform = platformParam(query);
    const stream = new JsonMessageStream(res);
    // The loader destroys its input on error; the request itself must survive to carry the answer.
    const body = new PassThrough();
    req.pipe(body);
    // pipe() does not pass on a client hanging up mid-upload; without this the load would wait forever.
    req.once('close', () => {
      if (!req.readableEnded) body.destroy(new Error('the client closed the connection during the upload'));
    });
    try {
      const { messages } = await loadArchive(engine.images, body, {
        ...(platform ? { platform } : {}),
        ...(quiet ? {} : { onProgress: (p) => stream.write(p) }),
      });
      for (const m of messages) stream.write({ stream: `${m}\n` });
      stream.end();
    } catch (err) {
      req.unpipe(body);
      await drain(req);
      // dockerd answers 200 once the query is parsed and reports whatever the load hit in the stream (moby's postImagesLoad).
      stream.error(err);
      stream.end();
    }
  });
}
