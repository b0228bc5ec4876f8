/** `docker stats` and `docker top`: looking at a running container's processes and resource use. */
import type { Engine } from '../../engine/engine.js';
import { conflict } from '../../engine/errors.js';
import { sampleStats, top } from '../../engine/container/stats.js';
import { boolParam, sendJson } from '../context.js';
import type { Router } from '../router.js';

export function observeRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;

  router.on('GET', '/containers/{id}/top', async ({ res, params, query }) => {
    const c = containers.store.resolve(params.id!);
    if (!c.State.Running) throw conflict(`container ${c.Id} is not running`);
    sendJson(res, 200, await top(containers.runtime.runc, containers.runtime.runcRoot, c.Id, query.get('ps_args') ?? ''));
  });

  router.on('GET', '/containers/{id}/stats', async ({ req, res, params, query }) => {
    const c = containers.store.resolve(params.id!);
    const stream = query.has('stream') ? boolParam(query, 'stream') : true;
    const oneShot = boolParam(query, 'one-shot');
    // dockerd reports interfaces only for containers with a network of their own (not none, host or another's).
    const sample = () => sampleStats(c.Id, c.Name, c.State.Running, c.NetworkAttachment?.mode === 'bridge' ? c.State.Pid : undefined);
    let prev = await sample();
    if (!stream) {
      if (!oneShot && c.State.Running) {
        // Two samples a second apart, so the client can compute CPU % from precpu_stats (dockerd does the same).
        await new Promise((r) => setTimeout(r, 1000));
        const cur = await sample();
        prev = { ...cur, preread: prev.read, precpu_stats: prev.cpu_stats };
      }
      sendJson(res, 200, prev);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify(prev)}\n`);
    let open = true;
    req.on('close', () => (open = false));
    res.on('close', () => (open = false));
    while (open && c.State.Running) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!open) break;
      const cur = await sample();
      res.write(`${JSON.stringify({ ...cur, preread: prev.read, precpu_stats: prev.cpu_stats })}\n`);
      prev = cur;
    }
    if (!res.writableEnded) res.end();
  });
}
