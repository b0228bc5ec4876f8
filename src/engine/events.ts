/**
 * The engine's event log: what `docker events` streams. Services publish
 * (container create/start/die/destroy…, image import/tag/delete…); the API
 * subscribes. A bounded ring of recent events serves `--since`.
 */
import { EventEmitter } from 'node:events';
import type { Filters } from '../common/api/filters.js';
import { invalid } from './errors.js';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon';

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** Legacy fields dockerd still sends for container and image events. */
  status?: string;
  id?: string;
  from?: string;
}

const KEEP = 1024;

/** The filters GET /events accepts (dockerd's list: the swarm ones match nothing here). */
const VALID_FILTERS = new Set(['type', 'event', 'container', 'image', 'label', 'daemon', 'network', 'volume', 'scope', 'plugin', 'node', 'service', 'secret', 'config']);

/** An event predicate from `docker events --filter`: values of one key are alternatives, keys must all match. Unknown keys are invalid. */
export function eventFilter(f: Filters): (e: EngineEvent) => boolean {
  for (const k of Object.keys(f)) if (!VALID_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
  return (e) => {
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
  };
}

export interface EventWatch {
  /** Replay recorded events from this time (ns) first. */
  sinceNano?: number;
  /** Stop at this time (ns); events after it are not sent. */
  untilNano?: number;
  filter: (e: EngineEvent) => boolean;
}

export class EventLog {
  private readonly recent: EngineEvent[] = [];
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor((performance.now() % 1) * 1e6));
    const e: EngineEvent = {
      ...(type === 'container' || type === 'image' ? { status: action, id, ...(attributes.image ? { from: attributes.image } : {}) } : {}),
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    this.recent.push(e);
    if (this.recent.length > KEEP) this.recent.shift();
    this.emitter.emit('event', e);
  }

  /** Events already published at or after `sinceNano`. */
  since(sinceNano: number): EngineEvent[] {
    return this.recent.filter((e) => e.timeNano >= sinceNano);
  }

  /**
   * `docker events`: the recorded events since `sinceNano`, then live ones,
   * in order and without gaps (it subscribes before replaying, holding live
   * events until the replay is done). Resolves at `untilNano` or when
   * `signal` aborts.
   */
  async watch(w: EventWatch, send: (e: EngineEvent) => void, signal: AbortSignal): Promise<void> {
    const { sinceNano, untilNano } = w;
    const deliver = (e: EngineEvent) => {
      if (w.filter(e)) send(e);
    };
    const buffered: EngineEvent[] = [];
    let replaying = true;
    const unsubscribe = this.subscribe((e) => {
      if (untilNano !== undefined && e.timeNano > untilNano) return;
      if (replaying) buffered.push(e);
      else deliver(e);
    });
    try {
      if (sinceNano !== undefined) for (const e of this.since(sinceNano)) if (untilNano === undefined || e.timeNano <= untilNano) deliver(e);
      replaying = false;
      for (const e of buffered) deliver(e);
      const nowNano = Date.now() * 1e6;
      if (untilNano !== undefined && untilNano <= nowNano) return;
      await new Promise<void>((resolve) => {
        const timer = untilNano !== undefined ? setTimeout(resolve, (untilNano - nowNano) / 1e6) : undefined;
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      unsubscribe();
    }
  }

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
