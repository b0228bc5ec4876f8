/** `POST /commit`, `GET /containers/{id}/changes` and `GET /images/{name}/history`: images made from containers, and their past. */
import type { Engine } from '../../engine/engine.js';
import type { ContainerConfig } from '../../common/api/container.js';
import { boolParam, readJsonBody, sendJson } from '../context.js';
import { containerConfigBody } from '../body/docker.js';
import type { Router } from '../router.js';

export function commitRoutes(router: Router, engine: Engine): void {
  router.on('POST', '/commit', async ({ req, res, query }) => {
    const config = await readJsonBody<ContainerConfig>(req, containerConfigBody);
    const repo = query.get('repo');
    const tag = query.get('tag');
    const id = await engine.containers.commit(query.get('container') ?? '', {
      ref: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
      author: query.get('author') || undefined,
      comment: query.get('comment') || undefined,
      changes: query.getAll('changes').filter(Boolean),
      config: config ?? undefined,
      pause: query.has('pause') ? boolParam(query, 'pause') : true,
    });
    sendJson(res, 201, { Id: id });
  });

  router.on('GET', '/containers/{id}/changes', async ({ res, params }) => {
    const list = await engine.containers.changes(params.id!);
    sendJson(res, 200, list.length ? list : null);
  });

  router.on('GET', '/images/{name:.*}/history', async ({ res, params }) => {
    sendJson(res, 200, await engine.images.history(params.name!));
  });
}
