/** /_ping, /version, /info. */
import type { Engine } from '../../engine/engine.js';
import { systemInfo, systemVersion, type DaemonIdentity } from '../../engine/system.js';
import { sendJson } from '../context.js';
import type { Router } from '../router.js';
import { infoCompat } from './versions.js';

export function systemRoutes(router: Router, engine: Engine, daemon: DaemonIdentity): void {
  const ping = async (ctx: { req: { method?: string }; res: import('node:http').ServerResponse }) => {
    ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.res.setHeader('Pragma', 'no-cache');
    ctx.res.setHeader('Swarm', 'inactive');
    // The legacy builder (POST /build): the docker CLI then builds through it, not BuildKit's session.
    ctx.res.setHeader('Builder-Version', '1');
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  router.on(['GET', 'HEAD'], '/_ping', ping);

  router.on('GET', '/version', async ({ res }) => {
    sendJson(res, 200, await systemVersion(engine));
  });

  router.on('GET', '/info', async ({ res, version }) => {
    const info = await systemInfo(engine, daemon);
    infoCompat(version, info as unknown as Record<string, unknown>);
    sendJson(res, 200, info);
  });
}
