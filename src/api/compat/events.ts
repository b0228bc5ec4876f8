/** `GET /events`: past events since `since`, then live ones until `until` or the client leaves. */
import type { Engine } from '../../engine/engine.js';
import { eventFilter } from '../../engine/events.js';
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

export function eventRoutes(router: Router, engine: Engine): void {
  router.on('GET', '/events', async ({ req, res, query }) => {
    const filter = eventFilter(filtersParam(query));
    const sinceNano = timeNano(query.get('since'));
    const untilNano = timeNano(query.get('until'));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    res.on('close', () => abort.abort());
    await engine.events.watch({ sinceNano, untilNano, filter }, (e) => res.write(`${JSON.stringify(e)}\n`), abort.signal);
    if (!res.writableEnded) res.end();
  });
}
