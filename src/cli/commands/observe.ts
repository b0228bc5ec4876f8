/**
 * `stats` (also `berth container stats`) and `events` (also `berth system
 * events`): watching containers' resource use and the daemon's event
 * stream, with docker v28's requests, columns, redraws and line format.
 */
import type { IncomingMessage } from 'node:http';
import type { Command } from 'commander';
import { containerStats, listContainers } from '../../client/containers.js';
import { forEachChunk } from '../../client/streams.js';
import { streamEvents } from '../../client/system.js';
import type { EventMessage, Filters, ContainerStatsResponse } from '../../common/api/index.js';
import { formatValue } from '../../common/gofmt.js';
import { formatWithTemplate, renderTemplate, TemplateError } from '../format/template.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { parseFilter } from '../opts.js';
import { rowTemplateFuncs } from '../rows.js';
import { defaultStatsTableFormat, emptyEntry, statsEntry, statsHeaders, statsRow, type StatsEntry } from '../stats.js';
import { getTimestamp } from '../../common/timestamp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits a streaming body into lines (JSON documents), the last one possibly without a newline. */
async function forEachLine(res: IncomingMessage, onLine: (line: string) => void): Promise<void> {
  let buf = '';
  await forEachChunk(res, (b) => {
    buf += b.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  });
  if (buf.trim()) onLine(buf);
}

// ---------------------------------------------------------------------------
// stats

/** One container being watched (docker's Stats): its latest entry, or the error that made it invalid. */
class Watched {
  entry: StatsEntry;
  error?: unknown;
  /** Settles with the first sample, an error, or the 2 s timeout (docker's waitFirst). */
  readonly first: Promise<void>;
  private releaseFirst!: () => void;
  private res?: IncomingMessage;
  private stopped = false;

  constructor(readonly container: string) {
    this.entry = emptyEntry(container);
    this.first = new Promise((resolve) => (this.releaseFirst = resolve));
  }

  /** docker's collect(): one request, streamed or not; no sample for 2 s zeroes the row. */
  collect(cli: Cli, stream: boolean): void {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.entry = { ...emptyEntry(this.container), Name: this.entry.Name, ID: this.entry.ID, IsInvalid: true };
        this.error = new Error('timeout waiting for stats');
        this.releaseFirst();
        if (stream) arm();
      }, 2000);
    };
    arm();
    const fail = (err: unknown) => {
      clearTimeout(timer);
      this.error = err;
      this.entry = { ...this.entry, IsInvalid: true };
      this.releaseFirst();
    };
    containerStats(cli.client, this.container, stream).then(
      async (res) => {
        this.res = res;
        if (this.stopped) res.destroy();
        let samples = 0;
        await forEachLine(res, (line) => {
          const v = JSON.parse(line) as ContainerStatsResponse;
          samples++;
          this.entry = statsEntry(this.container, v);
          this.error = undefined;
          if (stream) {
            arm();
            // A body that ends right after its first document (a stopped container) counts
            // as that end, as in docker, whose EOF wins the race with its first-sample wait.
            setImmediate(() => this.releaseFirst());
          } else {
            clearTimeout(timer);
            this.releaseFirst();
          }
        });
        // A streamed body that ends means the container stopped: the row goes invalid.
        if (!this.stopped && (stream || samples === 0)) fail(new Error('EOF'));
      },
      fail,
    ).catch(fail);
  }

  stop(): void {
    this.stopped = true;
    this.res?.destroy();
  }
}

interface StatsFlags {
  all?: boolean;
  stream: boolean;
  trunc: boolean;
  format?: string;
}

function renderStats(format: string, list: Watched[], trunc: boolean): string {
  try {
    return formatWithTemplate(format, list.map((w) => statsRow(w.entry, trunc)), statsHeaders, {
      funcs: rowTemplateFuncs,
      typeName: '*container.statsContext',
    });
  } catch (err) {
    if (err instanceof TemplateError) throw new StatusError(1, err.message);
    throw err;
  }
}

async function runStats(cli: Cli, names: string[], o: StatsFlags): Promise<void> {
  const showAll = names.length === 0;
  const watched: Watched[] = [];
  let eventsRes: IncomingMessage | undefined;
  // An events stream that fails ends a streaming stats (checked between redraws).
  let eventsError: unknown;
  const watch = (container: string) => {
    if (watched.some((w) => w.container === container)) return;
    const w = new Watched(container);
    watched.push(w);
    w.collect(cli, o.stream);
  };
  try {
    if (showAll) {
      // Subscribe before listing so that a container started in between is not missed.
      eventsRes = await streamEvents(cli.client, { filters: { type: ['container'] } });
      forEachLine(eventsRes, (line) => {
        const e = JSON.parse(line) as EventMessage;
        const id = (e.Actor?.ID ?? e.id ?? '').slice(0, 12);
        if (e.Action === 'start' || (o.all && e.Action === 'create')) watch(id);
        if (e.Action === 'die' && !o.all) {
          const i = watched.findIndex((w) => w.container === id);
          if (i >= 0) watched.splice(i, 1)[0]!.stop();
        }
      }).catch((err: unknown) => (eventsError = err));
      for (const c of await listContainers(cli.client, { all: o.all })) watch(c.Id.slice(0, 12));
      await Promise.all(watched.map((w) => w.first));
    } else {
      for (const name of names) watch(name);
      await Promise.all(watched.map((w) => w.first));
      const errors = watched.filter((w) => w.error).map((w) => describeError(w.error));
      if (errors.length) throw new StatusError(1, errors.join('\n'));
    }

    const format = !o.format || o.format === 'table' ? defaultStatsTableFormat : o.format;
    for (;;) {
      await sleep(500);
      const text = renderStats(format, watched, o.trunc);
      if (!o.stream) {
        cli.out.write(text);
        return;
      }
      // docker's redraw: home, the table, then each line again followed by
      // " \e[K" (erase to the end of the line), and \e[J for what is left below.
      const frame = `\x1b[H${text}`;
      cli.out.write(frame + frame.split('\n').map((l) => `${l} \x1b[K\n`).join('') + '\x1b[J');
      if (watched.length === 0 && !showAll) return;
      if (eventsError) throw eventsError;
    }
  } finally {
    eventsRes?.destroy();
    for (const w of watched) w.stop();
  }
}

// ---------------------------------------------------------------------------
// events

/** events.Actor, printed by %v as Go prints the struct. */
class EventActor {
  /** Keys in Go's map order; a nil map indexes like an empty one, only its JSON (null) differs. */
  readonly Attributes: Record<string, string>;
  readonly #nilAttributes: boolean;

  constructor(
    readonly ID: string,
    attributes: Record<string, string> | null,
  ) {
    this.Attributes = sortedAttributes(attributes ?? {});
    this.#nilAttributes = attributes === null;
  }

  toString(): string {
    return `{${this.ID} ${formatValue(this.Attributes)}}`;
  }

  toJSON(): unknown {
    return { ID: this.ID, Attributes: this.#nilAttributes ? null : this.Attributes };
  }
}

/**
 * events.Message as templates see it: Go's field names (.Status, .ID,
 * .TimeNano…), its %v rendering, and its JSON (the API's field names).
 */
class EventStruct {
  constructor(
    readonly Status: string,
    readonly ID: string,
    readonly From: string,
    readonly Type: string,
    readonly Action: string,
    readonly Actor: EventActor,
    readonly Scope: string,
    readonly Time: number,
    /** Exact: nanoseconds do not fit a double. */
    readonly TimeNano: bigint,
  ) {}

  static from(m: Partial<EventMessage>, timeNano: bigint): EventStruct {
    return new EventStruct(
      m.status ?? '',
      m.id ?? '',
      m.from ?? '',
      m.Type ?? '',
      m.Action ?? '',
      new EventActor(m.Actor?.ID ?? '', m.Actor?.Attributes ?? null),
      m.scope ?? '',
      m.time ?? 0,
      timeNano,
    );
  }

  toString(): string {
    return `{${this.Status} ${this.ID} ${this.From} ${this.Type} ${this.Action} ${this.Actor} ${this.Scope} ${this.Time} ${this.TimeNano}}`;
  }

  toJSON(): unknown {
    return {
      ...(this.Status ? { status: this.Status } : {}),
      ...(this.ID ? { id: this.ID } : {}),
      ...(this.From ? { from: this.From } : {}),
      Type: this.Type,
      Action: this.Action,
      Actor: this.Actor,
      ...(this.Scope ? { scope: this.Scope } : {}),
      ...(this.Time ? { time: this.Time } : {}),
      // The daemon's digits, exactly (JSON.stringify cannot write a bigint).
      ...(this.TimeNano ? { timeNano: Number(this.TimeNano) } : {}),
    };
  }
}

function sortedAttributes(a: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(a).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))) out[k] = a[k]!;
  return out;
}

/** Plain objects are Go maps (a missing key prints "<no value>"); the classes above are structs. */
const isMap = (o: object) => Object.getPrototypeOf(o) === Object.prototype || Object.getPrototypeOf(o) === null;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** time.Unix(0, ns).Format("2006-01-02T15:04:05.000000000Z07:00") in local time. */
export function eventTime(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const d = new Date(Number(secs) * 1000);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${String(frac).padStart(9, '0')}${zone}`
  );
}

/** prettyPrintEvent: "<time> <type> <action> <actor id> (k=v, …)". */
export function prettyEvent(e: EventStruct): string {
  let line = '';
  if (e.TimeNano !== 0n) line += `${eventTime(e.TimeNano)} `;
  else if (e.Time !== 0) line += `${eventTime(BigInt(e.Time) * 1_000_000_000n)} `;
  line += `${e.Type} ${e.Action} ${e.Actor.ID}`;
  const attrs = e.Actor.Attributes;
  const keys = Object.keys(attrs);
  if (keys.length) line += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${line}\n`;
}

interface EventsFlags {
  since?: string;
  until?: string;
  filter?: Filters;
  format?: string;
}

function renderEvent(format: string, e: EventStruct): string {
  return renderTemplate(format, e, { isMap, typeName: '*events.Message' });
}

async function runEvents(cli: Cli, o: EventsFlags): Promise<void> {
  const format = o.format === 'json' ? '{{json .}}' : (o.format ?? '');
  if (format) {
    try {
      // A template that cannot even render an empty message is refused up front (exit 64).
      renderEvent(format, EventStruct.from({}, 0n));
    } catch (err) {
      if (err instanceof TemplateError) throw new StatusError(64, `Error parsing format: ${err.message}`);
      throw err;
    }
  }
  const now = new Date();
  const time = (v: string | undefined) => {
    if (!v) return undefined;
    try {
      return getTimestamp(v, now);
    } catch (err) {
      throw new StatusError(1, (err as Error).message);
    }
  };
  const res = await streamEvents(cli.client, { since: time(o.since), until: time(o.until), filters: o.filter });
  try {
    await forEachLine(res, (line) => {
      const m = JSON.parse(line) as EventMessage;
      // The top-level timeNano is the last one in the line; its digits are exact, the parsed number is not.
      const nano = [...line.matchAll(/"timeNano"\s*:\s*(-?\d+)/g)].pop()?.[1];
      const e = EventStruct.from(m, nano ? BigInt(nano) : 0n);
      if (!format) {
        cli.out.write(prettyEvent(e));
        return;
      }
      try {
        cli.out.write(`${renderEvent(format, e)}\n`);
      } catch (err) {
        if (err instanceof TemplateError) throw new StatusError(1, err.message);
        throw err;
      }
    });
  } finally {
    res.destroy();
  }
}

export function registerObserveCommands(program: Command, cli: Cli): void {
  const container = defineGroup(program, 'container', 'Manage containers');
  for (const parent of [program, container]) {
    defineCommand<StatsFlags>(
      parent,
      { name: 'stats', use: 'stats [OPTIONS] [CONTAINER...]', description: 'Display a live stream of container(s) resource usage statistics', args: { min: 0 } },
      (args, o) => runStats(cli, args, o),
    )
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-stream', 'Disable streaming stats and only pull the first result')
      .option('--no-trunc', 'Do not truncate output');
  }
  const system = defineGroup(program, 'system', 'Manage berth');
  for (const parent of [program, system]) {
    defineCommand<EventsFlags>(
      parent,
      { name: 'events', use: 'events [OPTIONS]', description: 'Get real time events from the server', args: 'none' },
      (_args, o) => runEvents(cli, o),
    )
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', parseFilter)
      .option('--format <string>', 'Format output using a custom template')
      .option('--since <string>', 'Show all events created since timestamp')
      .option('--until <string>', 'Stream events until this timestamp');
  }
}
