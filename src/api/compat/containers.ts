/** Container endpoints: create, start, wait, stop, kill, list, inspect, remove, attach, logs, resize. */
import type { Engine } from '../../engine/engine.js';
import { EngineError, invalid } from '../../engine/errors.js';
import { parseDetachKeys } from '../../engine/runtime/detach-keys.js';
import type { ContainerCreateBody, ContainerUpdateBody, WaitCondition } from '../../common/api/container.js';
import { boolParam, filtersParam, intParam, readJsonBody, sendEmpty, sendJson } from '../context.js';
import { containerCreateBody, containerUpdateBody } from '../body/docker.js';
import { readHijackBody } from '../hijack-body.js';
import type { Router } from '../router.js';
import { startHijackedStream, versionAtLeast } from '../server.js';
import { containerCreateCompat, containerListCompat, containerUpdateCompat, stopSignalParam, waitConditionParam } from './versions.js';

const RAW = 'application/vnd.docker.raw-stream';
const MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';

/** Docker's `since`/`until` values: unix seconds with optional fraction, or RFC 3339. */
function timeParam(v: string | null): number {
  if (!v) return 0;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid value for time: ${v}`);
  return t / 1000;
}

export function containerRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;

  router.on('POST', '/containers/create', async ({ req, res, query, version }) => {
    const body = await readJsonBody<ContainerCreateBody>(req, containerCreateBody);
    if (!body) throw invalid('config cannot be empty in order to create a container');
    containerCreateCompat(version, body);
    const name = query.get('name') || undefined;
    sendJson(res, 201, await containers.create(body, name));
  });

  router.on('GET', '/containers/json', async ({ res, query, version }) => {
    const list = await containers.list({
      all: boolParam(query, 'all'),
      limit: intParam(query, 'limit'),
      size: boolParam(query, 'size'),
      filters: filtersParam(query),
    });
    containerListCompat(version, list);
    sendJson(res, 200, list);
  });

  router.on('GET', '/containers/{id}/json', async ({ res, params, query }) => {
    sendJson(res, 200, await containers.inspect(params.id!, boolParam(query, 'size')));
  });

  router.on('POST', '/containers/{id}/start', async ({ req, res, params }) => {
    req.resume();
    await containers.start(params.id!);
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/stop', async ({ res, params, query, version }) => {
    await containers.stop(params.id!, intParam(query, 't'), stopSignalParam(version, query));
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/kill', async ({ res, params, query }) => {
    await containers.kill(params.id!, query.get('signal') || 'SIGKILL');
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/wait', async ({ req, res, params, query, version }) => {
    const condition = waitConditionParam(version, query) as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    const abort = new AbortController();
    const waiting = containers.wait(params.id!, condition, abort.signal);
    // Headers go out at once: the CLI starts the container only after the wait is in place.
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    res.on('close', () => abort.abort());
    req.resume();
    try {
      const r = await waiting;
      res.end(`${JSON.stringify({ Error: r.Error, StatusCode: r.StatusCode })}\n`);
    } catch (err) {
      if (!res.writableEnded) res.end(`${JSON.stringify({ Error: { Message: (err as Error).message }, StatusCode: -1 })}\n`);
    }
  });

  router.on('POST', '/containers/{id}/restart', async ({ res, params, query, version }) => {
    await containers.restart(params.id!, intParam(query, 't'), stopSignalParam(version, query));
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/pause', async ({ res, params }) => {
    await containers.pause(params.id!);
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/unpause', async ({ res, params }) => {
    await containers.unpause(params.id!);
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/rename', async ({ res, params, query }) => {
    await containers.rename(params.id!, query.get('name') ?? '');
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/update', async ({ req, res, params, version }) => {
    const body = (await readJsonBody<ContainerUpdateBody>(req, containerUpdateBody)) ?? {};
    containerUpdateCompat(version, body);
    sendJson(res, 200, await containers.update(params.id!, body));
  });

  router.on('POST', '/containers/prune', async ({ res, query }) => {
    sendJson(res, 200, await containers.prune(filtersParam(query)));
  });

  router.on('DELETE', '/containers/{id}', async ({ res, params, query }) => {
    // ?link=1: the path names a link (/parent/alias), which is removed instead of a container.
    if (boolParam(query, 'link')) await containers.removeLink(params.id!);
    else await containers.remove(params.id!, { force: boolParam(query, 'force'), volumes: boolParam(query, 'v') });
    sendEmpty(res, 204);
  });

  // `docker rm --link /parent/alias` sends the link's name unescaped: DELETE /containers/parent/alias?link=1.
  router.on('DELETE', '/containers/{parent}/{alias}', async ({ res, params, query }) => {
    if (!boolParam(query, 'link')) throw new EngineError('notfound', 'page not found');
    await containers.removeLink(`${params.parent!}/${params.alias!}`);
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/{id}/resize', async ({ res, params, query }) => {
    const h = intParam(query, 'h') ?? 0;
    const w = intParam(query, 'w') ?? 0;
    await containers.resize(params.id!, h, w);
    sendEmpty(res, 200);
  });

  router.on('GET', '/containers/{id}/logs', async ({ req, res, params, query, version }) => {
    const stdout = boolParam(query, 'stdout');
    const stderr = boolParam(query, 'stderr');
    if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
    const tailRaw = query.get('tail');
    const tail = !tailRaw || tailRaw === 'all' ? undefined : Number.parseInt(tailRaw, 10);
    const c = containers.store.resolve(params.id!);
    containers.checkLogsReadable(c.Id);
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    res.on('close', () => abort.abort());
    const tty = !!c.Config.Tty;
    res.writeHead(200, { 'Content-Type': tty || !versionAtLeast(version, '1.42') ? RAW : MULTIPLEXED });
    res.flushHeaders();
    await containers.logs(
      c.Id,
      {
        stdout,
        stderr,
        follow: boolParam(query, 'follow'),
        tail: Number.isNaN(tail) ? undefined : tail,
        since: timeParam(query.get('since')),
        until: timeParam(query.get('until')),
        timestamps: boolParam(query, 'timestamps'),
        details: boolParam(query, 'details'),
      },
      (b) => res.write(b),
      abort.signal,
    );
    res.end();
  });

  router.onHijack('POST', '/containers/{id}/attach', async (ctx) => {
    const c = containers.store.resolve(ctx.params.id!);
    const q = ctx.query;
    const detachKeys = q.get('detachKeys') ?? '';
    // Refused before the connection is taken over, as dockerd does.
    if (detachKeys && !parseDetachKeys(detachKeys)) throw invalid(`Invalid detach keys (${detachKeys}) provided`);
    if (boolParam(q, 'logs')) containers.checkLogsReadable(c.Id);
    const tty = !!c.Config.Tty;
    // Some clients (dockerode, through docker-modem) send the attach options as a JSON body too: those bytes are not stdin.
    await readHijackBody(ctx);
    startHijackedStream(ctx, tty || !versionAtLeast(ctx.version, '1.42') ? RAW : MULTIPLEXED);
    await containers.attach(
      c.Id,
      {
        stdin: boolParam(q, 'stdin'),
        stdout: boolParam(q, 'stdout'),
        stderr: boolParam(q, 'stderr'),
        logs: boolParam(q, 'logs'),
        stream: boolParam(q, 'stream'),
        detachKeys,
      },
      ctx.socket,
    );
  });
}
