/**
 * `/networks`: the predefined networks (bridge, host, none) and user-defined
 * ones as dockerd lists, inspects, creates and removes them, and containers
 * connected to and disconnected from them (the engine decides; this file
 * translates).
 */
import type { Engine } from '../../engine/engine.js';
import type { EndpointConfig } from '../../engine/network/networks.js';
import type { NetworkCreateRequest } from '../../common/api/index.js';
import { invalid } from '../../engine/errors.js';
import { drain, filtersParam, readJsonBody, sendEmpty, sendJson } from '../context.js';
import { networkConnectBody, networkCreateBody, networkDisconnectBody } from '../body/docker.js';
import type { Router } from '../router.js';

export function networkRoutes(router: Router, engine: Engine): void {
  const networks = engine.networks;
  const catalogue = networks.catalogue;

  router.on('GET', '/networks', async ({ res, query }) => {
    sendJson(res, 200, catalogue.list(filtersParam(query)));
  });

  router.on('GET', '/networks/{id}', async ({ res, params }) => {
    sendJson(res, 200, catalogue.inspect(params.id!));
  });

  router.on('DELETE', '/networks/{id}', async ({ res, params }) => {
    await catalogue.remove(params.id!);
    sendEmpty(res, 204);
  });

  router.on('POST', '/networks/prune', async ({ req, res, query }) => {
    await drain(req);
    sendJson(res, 200, await catalogue.prune(filtersParam(query)));
  });

  router.on('POST', '/networks/create', async ({ req, res }) => {
    const body = await readJsonBody<NetworkCreateRequest>(req, networkCreateBody);
    if (!body) throw invalid('network name cannot be empty');
    sendJson(res, 201, await catalogue.create(body));
  });

  router.on('POST', '/networks/{id}/connect', async ({ req, res, params }) => {
    const body = await readJsonBody<{ Container?: string; EndpointConfig?: EndpointConfig | null }>(req, networkConnectBody);
    if (!body?.Container) throw invalid('no container specified');
    await engine.containers.networkConnect(params.id!, body.Container, body.EndpointConfig ?? {});
    sendEmpty(res, 200);
  });

  router.on('POST', '/networks/{id}/disconnect', async ({ req, res, params }) => {
    const body = await readJsonBody<{ Container?: string; Force?: boolean }>(req, networkDisconnectBody);
    if (!body?.Container) throw invalid('no container specified');
    await engine.containers.networkDisconnect(params.id!, body.Container, !!body.Force);
    sendEmpty(res, 200);
  });
}
