/**
 * Registry endpoints: pull (`POST /images/create?fromImage=`), push, `POST
 * /auth`, `GET /images/search`, `GET /distribution/{name}/json`. Credentials
 * arrive in `X-Registry-Auth` (base64url AuthConfig JSON); progress goes out
 * as dockerd's JSON message stream, whose head is written with the first
 * message: an error before it is a plain HTTP error (the CLI prints
 * "Error response from daemon: …"), an error after it an errorDetail line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from '../../engine/engine.js';
import { EngineError, errorMessage, invalid } from '../../engine/errors.js';
import { decodeAuthHeader, type AuthConfig } from '../../engine/distribution/auth.js';
import { parsePlatform } from '../../engine/distribution/manifest.js';
import { filterResults } from '../../engine/distribution/search.js';
import type { ProgressMessage } from '../../engine/distribution/progress.js';
import { filtersParam, intParam, readJsonBody, sendJson } from '../context.js';
import { authConfigBody } from '../body/docker.js';
import { decode } from '../body/schema.js';
import type { Router } from '../router.js';

export function registryAuth(req: IncomingMessage): AuthConfig {
  const h = req.headers['x-registry-auth'];
  let auth: AuthConfig;
  try {
    auth = decodeAuthHeader(Array.isArray(h) ? h[0] : h);
  } catch (err) {
    throw invalid(errorMessage(err));
  }
  // The header's JSON is a body like /auth's: typed, unknown fields dropped.
  return decode<AuthConfig>(authConfigBody, auth) ?? {};
}

/** A JSON message stream whose head goes out with the first message. */
export function progressStream(res: ServerResponse): { sink: (m: ProgressMessage) => void; started: () => boolean; fail: (err: unknown) => void } {
  let started = false;
  const sink = (m: ProgressMessage): void => {
    if (!started) {
      started = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    res.write(`${JSON.stringify(m)}\r\n`);
  };
  const fail = (err: unknown): void => {
    const message = errorMessage(err);
    res.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  };
  return { sink, started: () => started, fail };
}

/** Runs a streaming operation: errors before the first message become HTTP errors, later ones an errorDetail line. */
async function streamed(res: ServerResponse, run: (sink: (m: ProgressMessage) => void) => Promise<void>): Promise<void> {
  const s = progressStream(res);
  try {
    await run(s.sink);
  } catch (err) {
    if (!s.started()) throw err;
    s.fail(err);
  }
  if (!s.started()) res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end();
}

/** The fromImage half of POST /images/create. */
export async function pullImage(engine: Engine, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const fromImage = query.get('fromImage')!;
  const platformQ = query.get('platform');
  const platform = platformQ ? parsePlatform(platformQ) : undefined;
  const auth = registryAuth(req);
  req.resume();
  await streamed(res, (sink) => engine.distribution.pull(fromImage, { tag: query.get('tag') ?? undefined, platform, auth }, sink));
}

export function distributionRoutes(router: Router, engine: Engine): void {
  router.on('POST', '/images/{name:.*}/push', async ({ req, res, params, query }) => {
    const auth = registryAuth(req);
    req.resume();
    await streamed(res, (sink) => engine.distribution.push(params.name!, query.get('tag') || undefined, auth, sink));
  });

  router.on('POST', '/auth', async ({ req, res }) => {
    const body = await readJsonBody<AuthConfig>(req, authConfigBody);
    if (!body) throw invalid('invalid request body');
    sendJson(res, 200, await engine.distribution.login(body));
  });

  router.on('GET', '/images/search', async ({ req, res, query }) => {
    const term = query.get('term') ?? '';
    if (!term) throw invalid('search term is required');
    const limit = intParam(query, 'limit') ?? 25;
    const filters = filtersParam(query);
    // Validate filters before asking anyone.
    filterResults([], filters, limit);
    let results;
    try {
      results = await engine.distribution.search(term, limit, registryAuth(req));
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError('system', errorMessage(err));
    }
    sendJson(res, 200, filterResults(results, filters, limit));
  });

  router.on('GET', '/distribution/{name:.*}/json', async ({ req, res, params }) => {
    sendJson(res, 200, await engine.distribution.inspect(params.name!, registryAuth(req)));
  });
}
