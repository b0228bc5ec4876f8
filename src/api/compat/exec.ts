/** Exec endpoints: create, start (hijacked, or detached), resize, inspect. */
import type { Engine } from '../../engine/engine.js';
import type { ExecStartOptions } from '../../engine/exec/service.js';
import type { ExecConfig, ExecStartConfig } from '../../common/api/exec.js';
import { intParam, readJsonBody, sendEmpty, sendJson } from '../context.js';
import { execCreateBody, execStartBody } from '../body/docker.js';
import { decode } from '../body/schema.js';
import { parseJson } from '../limits.js';
import { readHijackBody } from '../hijack-body.js';
import type { Router } from '../router.js';
import { startHijackedStream, versionAtLeast } from '../server.js';

const RAW = 'application/vnd.docker.raw-stream';
const MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';

export function execRoutes(router: Router, engine: Engine): void {
  const exec = engine.exec;

  router.on('POST', '/containers/{id}/exec', async ({ req, res, params, version }) => {
    const body = (await readJsonBody<ExecConfig>(req, execCreateBody)) ?? {};
    // ConsoleSize arrived with API 1.42.
    if (!versionAtLeast(version, '1.42')) delete body.ConsoleSize;
    sendJson(res, 201, exec.create(params.id!, body));
  });

  router.onHijack('POST', '/exec/{id}/start', async (ctx) => {
    const id = ctx.params.id!;
    exec.checkStartable(id);
    const body = decode<ExecStartConfig>(execStartBody, parseJson(await readHijackBody(ctx))) ?? {};
    const tty = !!body.Tty;
    const opts: ExecStartOptions = {
      detach: !!body.Detach,
      tty,
      // No console without a TTY, and none before API 1.42 (moby postContainerExecStart).
      consoleSize: tty && versionAtLeast(ctx.version, '1.42') ? (body.ConsoleSize ?? null) : null,
    };
    if (opts.detach) {
      await exec.start(id, opts);
      if (ctx.upgrade) {
        // A detached start is a plain request even when the client offered to upgrade.
        ctx.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      } else {
        sendEmpty(ctx.res!, 200);
      }
      return;
    }
    startHijackedStream(ctx, tty || !versionAtLeast(ctx.version, '1.42') ? RAW : MULTIPLEXED);
    await exec.start(id, opts, ctx.socket);
  });

  router.on('POST', '/exec/{id}/resize', async ({ res, params, query }) => {
    await exec.resize(params.id!, intParam(query, 'h') ?? 0, intParam(query, 'w') ?? 0);
    sendEmpty(res, 200);
  });

  router.on('GET', '/exec/{id}/json', async ({ res, params }) => {
    sendJson(res, 200, exec.inspect(params.id!));
  });
}
