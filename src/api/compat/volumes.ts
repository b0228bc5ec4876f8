/** `/volumes`: the local driver's volumes, as dockerd serves them. */
import type { Engine } from '../../engine/engine.js';
import { boolParam, drain, filtersParam, readJsonBody, sendEmpty, sendJson } from '../context.js';
import { volumeCreateBody } from '../body/docker.js';
import type { Router } from '../router.js';
import { volumePruneFilters } from './versions.js';
import type { VolumeCreateRequest, VolumeListResponse } from '../../common/api/volume.js';

export function volumeRoutes(router: Router, engine: Engine): void {
  const volumes = engine.volumes;

  router.on('GET', '/volumes', async ({ res, query }) => {
    const out: VolumeListResponse = { Volumes: volumes.list(filtersParam(query)), Warnings: null };
    sendJson(res, 200, out);
  });

  router.on('POST', '/volumes/create', async ({ req, res }) => {
    const body = (await readJsonBody<VolumeCreateRequest>(req, volumeCreateBody)) ?? {};
    const v = await volumes.create(body.Name || undefined, { driver: body.Driver || undefined, labels: body.Labels ?? undefined, options: body.DriverOpts ?? undefined });
    sendJson(res, 201, volumes.shape(v));
  });

  router.on('POST', '/volumes/prune', async ({ req, res, query, version }) => {
    await drain(req);
    sendJson(res, 200, await volumes.prune(volumePruneFilters(version, filtersParam(query))));
  });

  router.on('GET', '/volumes/{name}', async ({ res, params }) => {
    sendJson(res, 200, volumes.inspect(params.name!));
  });

  router.on('DELETE', '/volumes/{name}', async ({ res, params, query }) => {
    await volumes.remove(params.name!, boolParam(query, 'force'));
    sendEmpty(res, 204);
  });
}
