/** `GET /events`: past events since `since`, then live ones until `until` or the client leaves. */
import type { Engine } from '../../engine/engine.js';
import type { EngineEvent } from '../../engine/events.js';
import { invalid } from '../../engine/errors.js';
import { filtersParam } from '../context.js';
import type { Router } from '../router.js';

/** Docker's event timestamps: unix seconds with an optional fraction, or RFC 3339. Returns nanoseconds. */
function timeNano(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const [sec, frac = ''] = v.split('.');
    return Number(sec) * 1e9 + Number(frac.padEnd(9, '0').slice(0, 9));
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid timestamp: ${v}`);
  return t * 1e6;
}

const VALID_FILTERS = new Set(['type', 'event', 'container', 'image', 'label', 'daemon', 'network', 'volume', 'scope', 'plugin', 'node', 'service', 'secret', 'config']);

function matches(e: EngineEvent, f: Record<string, string[]>): boolean {
  const any = (key: string, test: (v: string) => boolean) => !f[key]?.length || f[key]!.some(test);
  const attrs = e.Actor.Attributes;
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('image', (v) => attrs.image === v || (e.Type === 'image' && (e.Actor.ID === v || attrs.name === v))) &&
    any('label', (v) => {
      const i = v.indexOf('=');
      return i < 0 ? v in attrs : attrs[v.slice(0, i)] === v.slice(i + 1);
    }) &&
    any('scope', (v) => v === e.scope)
  );
}

export function eventRoutes(router: Router, engine: Engine): void {
  router.on('GET', '/events', async ({ req, res, query }) => {
    const filters = filtersParam(query);
    for (const k of Object.keys(filters)) if (!VALID_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    const since = timeNano(query.get('since'));
    const until = timeNano(query.get('until'));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const send = (e: EngineEvent) => {
      if (matches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
    };
    // Subscribe before replaying so nothing falls between the two.
    const buffered: EngineEvent[] = [];
    let replaying = true;
    const unsubscribe = engine.events.subscribe((e) => {
      if (until !== undefined && e.timeNano > until) return;
      if (replaying) buffered.push(e);
      else send(e);
    });
    if (since !== undefined) for (const e of engine.events.since(since)) if (until === undefined || e.timeNano <= until) send(e);
    replaying = false;
    for (const e of buffered) send(e);
    const nowNano = Date.now() * 1e6;
    if (until !== undefined && until <= nowNano) {
      unsubscribe();
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = until !== undefined ? setTimeout(resolve, (until - nowNano) / 1e6) : undefined;
      req.on('close', () => resolve());
      res.on('close', () => resolve());
      void timer;
    });
    unsubscribe();
    if (!res.writableEnded) res.end();
  });
}
