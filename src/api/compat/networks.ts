/**
 * `/networks`: the predefined networks (bridge, host, none) as dockerd lists
 * and inspects them. User-defined networks are not built yet: creating,
 * connecting and disconnecting answer 501; the predefined ones cannot be
 * removed (dockerd's 403), and pruning has nothing to prune.
 */
import type { Engine } from '../../engine/engine.js';
import { drain, filtersParam, sendJson } from '../context.js';
import type { Router } from '../router.js';

export function networkRoutes(router: Router, engine: Engine): void {
  const networks = engine.networks;

  router.on('GET', '/networks', async ({ res, query }) => {
    sendJson(res, 200, networks.list(filtersParam(query)));
  });

  router.on('GET', '/networks/{id}', async ({ res, params }) => {
    sendJson(res, 200, networks.inspect(params.id!));
  });

  router.on('DELETE', '/networks/{id}', async ({ params }) => {
    networks.remove(params.id!);
  });

  router.on('POST', '/networks/prune', async ({ req, res }) => {
    await drain(req);
    sendJson(res, 200, networks.prune());
  });

  router.on('POST', '/networks/create', async ({ req }) => {
    await drain(req);
    networks.create();
  });

  router.on('POST', '/networks/{id}/connect', async ({ req, params }) => {
    await drain(req);
    networks.connect(params.id!);
  });

  router.on('POST', '/networks/{id}/disconnect', async ({ req, params }) => {
    await drain(req);
    networks.disconnect(params.id!);
  });
}
