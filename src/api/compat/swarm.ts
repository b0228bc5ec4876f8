/**
 * Swarm endpoints on a node that is not in a swarm: every route dockerd's
 * swarm router serves answers as dockerd answers on an inactive node (503
 * with its message), so clients see "no swarm" rather than "no such page".
 */
import type { Engine } from '../../engine/engine.js';
import { notAManager, notInASwarm, swarmUnsupported } from '../../engine/cluster.js';
import { drain } from '../context.js';
import type { Router } from '../router.js';

/** moby's daemon/server/router/swarm routes that need a manager. */
const MANAGER_ROUTES: [string, string][] = [
  ['GET', '/swarm'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/update'],
  ['POST', '/swarm/unlock'],
  ['GET', '/services'],
  ['GET', '/services/{id}'],
  ['POST', '/services/create'],
  ['POST', '/services/{id}/update'],
  ['DELETE', '/services/{id}'],
  ['GET', '/services/{id}/logs'],
  ['GET', '/nodes'],
  ['GET', '/nodes/{id}'],
  ['DELETE', '/nodes/{id}'],
  ['POST', '/nodes/{id}/update'],
  ['GET', '/tasks'],
  ['GET', '/tasks/{id}'],
  ['GET', '/tasks/{id}/logs'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create'],
  ['GET', '/secrets/{id}'],
  ['DELETE', '/secrets/{id}'],
  ['POST', '/secrets/{id}/update'],
  ['GET', '/configs'],
  ['POST', '/configs/create'],
  ['GET', '/configs/{id}'],
  ['DELETE', '/configs/{id}'],
  ['POST', '/configs/{id}/update'],
];

export function swarmRoutes(router: Router, _engine: Engine): void {
  for (const [method, path] of MANAGER_ROUTES) {
    router.on(method, path, async ({ req }) => {
      // Read what the client sent (create/update bodies) so the error reaches it.
      await drain(req);
      throw notAManager();
    });
  }
  router.on('POST', '/swarm/leave', async ({ req }) => {
    await drain(req);
    throw notInASwarm();
  });
  router.on('POST', '/swarm/init', async ({ req }) => {
    await drain(req);
    throw swarmUnsupported('init');
  });
  router.on('POST', '/swarm/join', async ({ req }) => {
    await drain(req);
    throw swarmUnsupported('join');
  });
}
