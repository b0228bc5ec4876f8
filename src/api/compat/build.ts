/**
 * POST /build (dockerd's legacy builder API) and POST /build/prune.
 * Translation only: the query becomes a BuildRequest, the body (the context
 * tar) is written to disk by the engine, and the engine's stream messages
 * go out as dockerd's JSON message stream. Like dockerd, an error before
 * any output is a plain HTTP error; after output it is an `errorDetail`
 * message in the stream (status 200 already sent).
 */
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import type { Engine } from '../../engine/engine.js';
import { BuildContext } from '../../engine/build/context.js';
import { StepFailedError } from '../../engine/build/steps.js';
import type { BuildRequest } from '../../engine/build/builder.js';
import { invalid } from '../../engine/errors.js';
import { span } from '../../engine/trace.js';
import type { AuthConfig } from '../../engine/distribution/auth.js';
import { untilMs } from '../../engine/filters.js';
import { boolParam, filtersParam, sendJson } from '../context.js';
import type { Router } from '../router.js';

function jsonParam<T>(q: URLSearchParams, name: string, fallback: T): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw invalid(`invalid ${name} value: ${raw}`);
  }
}

/** The JSON message stream; the status line goes out with the first message. */
class MessageStream {
  started = false;
  constructor(private readonly res: ServerResponse) {}
  write(msg: object): void {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    this.res.write(JSON.stringify(msg) + '\r\n');
  }
}

/**
 * X-Registry-Config: every credential the client holds, by registry
 * (base64url JSON of a map to AuthConfig), for the images a build pulls.
 * Unreadable → none, as dockerd's decodeAuthConfigs falls back to an empty map.
 */
function registryConfig(h: string | string[] | undefined): Record<string, AuthConfig> {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return {};
  try {
    const j = JSON.parse(Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) return {};
    const out: Record<string, AuthConfig> = {};
    for (const [k, c] of Object.entries(j as Record<string, unknown>)) if (c && typeof c === 'object') out[k] = normalizeAuth(c as AuthConfig);
    return out;
  } catch {
    return {};
  }
}

/** An `auth` field (base64 user:password) as username and password, as the registry client reads them. */
function normalizeAuth(c: AuthConfig): AuthConfig {
  if (!c.auth || c.username) return c;
  const plain = Buffer.from(c.auth, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  return i > 0 ? { ...c, username: plain.slice(0, i), password: plain.slice(i + 1) } : c;
}

export function buildRoutes(router: Router, engine: Engine): void {
  router.on('POST', '/build', async ({ req, res, query }) => {
    const q = query;
    if (q.get('remote')) throw invalid('remote build contexts are not supported by berth: send the context in the request body');
    const request: BuildRequest = {
      dockerfile: q.get('dockerfile') || 'Dockerfile',
      tags: q.getAll('t').filter(Boolean),
      buildArgs: jsonParam<Record<string, string | null>>(q, 'buildargs', {}),
      labels: jsonParam<Record<string, string>>(q, 'labels', {}),
      target: q.get('target') || undefined,
      noCache: boolParam(q, 'nocache'),
      // rm defaults to true in dockerd.
      rm: q.get('rm') === null ? true : boolParam(q, 'rm'),
      forceRm: boolParam(q, 'forcerm'),
      network: q.get('networkmode') || undefined,
      platform: q.get('platform') || undefined,
      cacheFrom: jsonParam<string[]>(q, 'cachefrom', []),
      pull: boolParam(q, 'pull'),
      authConfigs: registryConfig(req.headers['x-registry-config']),
    };
    if (request.platform && !/^linux(\/(amd64|x86_64))?$/.test(request.platform)) throw invalid(`"${request.platform}": platform not supported: berth builds linux/amd64 only`);
    // -q: every message waits in a buffer, shown only with an error; success prints just the image ID (dockerd's notVerboseBuffer).
    const quiet = boolParam(q, 'q');
    const ctx = await span('build-context', () => BuildContext.fromTar(req, path.join(engine.opts.dataRoot, 'builder', 'tmp')));
    const out = new MessageStream(res);
    const held: object[] = [];
    const emit = (msg: object) => (quiet ? held.push(msg) : out.write(msg));
    let imageId = '';
    let built = false;
    let failure: unknown;
    try {
      imageId = await engine.builder.build(ctx, request, { stream: (text) => emit({ stream: text }), aux: (value) => emit({ aux: value }), progress: (m) => emit(m) });
      built = true;
    } catch (err) {
      failure = err;
    }
    // Before the last message: once the client has its answer, nothing of the build is left behind.
    await span('build-context-dispose', () => ctx.dispose({ keep: built }));
    if (!built) {
      const err = failure;
      for (const m of held) out.write(m);
      if (!out.started) throw err;
      const message = (err as Error).message;
      out.write(err instanceof StepFailedError ? { errorDetail: { code: err.code, message }, error: message } : { errorDetail: { message }, error: message });
      res.end();
      return;
    }
    if (quiet) out.write({ stream: `${imageId}\n` });
    res.end();
  });

  router.on('POST', '/build/prune', async ({ res, query }) => {
    const filters = filtersParam(query);
    sendJson(res, 200, await engine.builder.prune({ all: boolParam(query, 'all'), untilMs: untilMs(filters) }));
  });
}
