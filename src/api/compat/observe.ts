/** `docker stats` and `docker top`: looking at a running container's processes and resource use. */
import type { Engine } from '../../engine/engine.js';
import { containerStatsOnce, containerTop, watchContainerStats } from '../../engine/observe.js';
import { boolParam, sendJson } from '../context.js';
import type { Router } from '../router.js';

export function observeRoutes(router: Router, engine: Engine): void {
  router.on('GET', '/containers/{id}/top', async ({ res, params, query }) => {
    sendJson(res, 200, await containerTop(engine, params.id!, query.get('ps_args') ?? ''));
  });

  router.on('GET', '/containers/{id}/stats', async ({ req, res, params, query }) => {
    const stream = query.has('stream') ? boolParam(query, 'stream') : true;
    if (!stream) {
      sendJson(res, 200, await containerStatsOnce(engine, params.id!, boolParam(query, 'one-shot')));
      return;
    }
    const abort = new AbortController();
    await watchContainerStats(
      engine,
      params.id!,
      (doc) => {
        if (!res.headersSent) {
          // Headers go out with the first sample, so an unknown container is still a plain error.
          res.writeHead(200, { 'Content-Type': 'application/json' });
          req.on('close', () => abort.abort());
          res.on('close', () => abort.abort());
        }
        res.write(`${JSON.stringify(doc)}\n`);
      },
      abort.signal,
    );
    if (!res.writableEnded) res.end();
  });
}
