/**
 * Plugin endpoints with no managed plugins installed: the list is empty and
 * every plugin named is not found, as on a dockerd with no plugins.
 * Installing one (pull, create) is refused: berth has no plugin runtime.
 */
import type { Engine } from '../../engine/engine.js';
import { pluginNotFound, pluginsUnsupported } from '../../engine/cluster.js';
import { invalid } from '../../engine/errors.js';
import { drain, filtersParam, sendJson } from '../context.js';
import type { Router } from '../router.js';

/** Filters dockerd's plugin list accepts (moby's acceptedPluginFilterTags). */
const PLUGIN_FILTERS = new Set(['enabled', 'capability']);

export function pluginRoutes(router: Router, _engine: Engine): void {
  router.on('GET', '/plugins', async ({ res, query }) => {
    for (const k of Object.keys(filtersParam(query))) {
      if (!PLUGIN_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    }
    sendJson(res, 200, []);
  });
  router.on('GET', '/plugins/privileges', async ({ req }) => {
    await drain(req);
    throw pluginsUnsupported();
  });
  router.on('POST', '/plugins/pull', async ({ req }) => {
    await drain(req);
    throw pluginsUnsupported();
  });
  router.on('POST', '/plugins/create', async ({ req }) => {
    await drain(req);
    throw pluginsUnsupported();
  });
  router.on('GET', '/plugins/{name:.*}/json', async ({ params }) => {
    throw pluginNotFound(params.name!);
  });
  for (const verb of ['enable', 'disable', 'push', 'upgrade', 'set']) {
    router.on('POST', `/plugins/{name:.*}/${verb}`, async ({ req, params }) => {
      await drain(req);
      throw pluginNotFound(params.name!);
    });
  }
  router.on('DELETE', '/plugins/{name:.*}', async ({ params }) => {
    throw pluginNotFound(params.name!);
  });
}
