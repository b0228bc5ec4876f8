/**
 * The engine's event log: what `docker events` streams. Services publish
 * (container create/start/die/destroy…, image import/tag/delete…); the API
 * subscribes. A bounded ring of recent events serves `--since`.
 */
import { EventEmitter } from 'node:events';

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

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
