/**
 * `/networks`: the predefined networks (bridge, host, none) as dockerd lists
 * and inspects them. User-defined networks are not built yet: creating,
 * connecting and disconnecting answer 501; the predefined ones cannot be
 * removed (dockerd's 403), and pruning has nothing to prune.
 */
import type { Engine } from '../../engine/engine.js';
import { EngineError, invalid } from '../../engine/errors.js';
import { drain, filtersParam, sendJson } from '../context.js';
import type { Router } from '../router.js';

const FILTERS = new Set(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);

export function networkRoutes(router: Router, engine: Engine): void {
  const networks = engine.containers.networks;
  const notBuilt = (what: string) => new EngineError('notimplemented', `${what}: user-defined networks are not supported by berth yet`);

  router.on('GET', '/networks', async ({ res, query }) => {
    const f = filtersParam(query);
    for (const k of Object.keys(f)) if (!FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    const out = networks.names().map((n) => networks.resource(n, null)).filter((r) => {
      const name = String(r.Name);
      const id = String(r.Id);
      if (f.name?.length && !f.name.some((v) => name.includes(v))) return false;
      if (f.id?.length && !f.id.some((v) => id.startsWith(v))) return false;
      if (f.driver?.length && !f.driver.includes(String(r.Driver))) return false;
      if (f.scope?.length && !f.scope.includes('local')) return false;
      if (f.type?.length && !f.type.includes('builtin')) return false;
      if (f.label?.length) return false;
      // Predefined networks are never dangling.
      if (f.dangling?.length && f.dangling.some((v) => v === 'true' || v === '1')) return false;
      return true;
    });
    sendJson(res, 200, out);
  });

  router.on('GET', '/networks/{id}', async ({ res, params }) => {
    const name = networks.find(params.id!);
    sendJson(res, 200, networks.resource(name, engine.containers.store.list()));
  });

  router.on('DELETE', '/networks/{id}', async ({ params }) => {
    const name = networks.find(params.id!);
    throw new EngineError('forbidden', `${name} is a pre-defined network and cannot be removed`);
  });

  router.on('POST', '/networks/prune', async ({ req, res }) => {
    await drain(req);
    sendJson(res, 200, { NetworksDeleted: null });
  });

  router.on('POST', '/networks/create', async ({ req }) => {
    await drain(req);
    throw notBuilt('network create');
  });

  for (const verb of ['connect', 'disconnect'] as const) {
    router.on('POST', `/networks/{id}/${verb}`, async ({ req, params }) => {
      await drain(req);
      networks.find(params.id!);
      throw notBuilt(`network ${verb}`);
    });
  }
}
