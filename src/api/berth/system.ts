/**
 * berth's own endpoints, under /berth/ so they never collide with Docker's:
 * `POST /berth/system/check?repair=1&full=0` runs the store check
 * (engine/check) and answers its report as JSON.
 */
import type { Engine } from '../../engine/engine.js';
import { boolParam, drain, sendJson } from '../context.js';
import type { Router } from '../router.js';

export function berthSystemRoutes(router: Router, engine: Engine): void {
  router.on('POST', '/berth/system/check', async ({ req, res, query }) => {
    await drain(req);
    // full defaults to on: the check's point is reading every blob.
    const full = query.has('full') ? boolParam(query, 'full') : true;
    sendJson(res, 200, await engine.check({ repair: boolParam(query, 'repair'), full }));
  });
}
