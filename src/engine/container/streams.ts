/**
 * @module engine/container/streams
 * A container's stdio for clients: attach (a hijacked connection bridged to
 * conmon's attach socket, waiting for the next start when the container is
 * not running), logs (conmon's k8s-file log, across its rotated files, as
 * Docker's stream, followed until the container stops) and terminal resize.
 */
import type { Duplex } from 'node:stream';
import type { SeqpacketSocket } from 'node-unix-socket';
import { frame, STDERR, STDOUT } from '../../common/stdcopy.js';
import { conflict, EngineError, invalid } from '../errors.js';
import { detailsPrefix, extraAttributes } from '../logs/attributes.js';
import { readLog, type LogReadOptions } from '../logs/k8sfile.js';
import { bridgeAttach } from '../runtime/attach.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../runtime/detach-keys.js';
import type { ContainerContext } from './context.js';
import type { ContainerRecord } from './types.js';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Replay the log before streaming. */
  logs: boolean;
  stream: boolean;
  /** The client's detach keys (`detachKeys=`, as moby term.ToBytes reads them); empty or absent: ctrl-p,ctrl-q. */
  detachKeys?: string;
}

export class ContainerStreams {
  /** Clients waiting for a container's next start to attach. */
  private readonly pendingAttach = new Map<string, ((sock: SeqpacketSocket | undefined) => void)[]>();

  constructor(
    private readonly ctx: ContainerContext,
    /** Resolves once the container is not running (the lifecycle's wait). */
    private readonly waitFor: (id: string, condition: 'not-running', signal?: AbortSignal) => Promise<unknown>,
  ) {}

  async connectPendingAttach(id: string): Promise<void> {
    const waiters = this.pendingAttach.get(id) ?? [];
    this.pendingAttach.delete(id);
    for (const w of waiters) {
      const sock = await this.ctx.runtime.connectAttach(id).catch(() => undefined);
      w(sock);
    }
  }

  failPendingAttach(id: string): void {
    const waiters = this.pendingAttach.get(id) ?? [];
    this.pendingAttach.delete(id);
    for (const w of waiters) w(undefined);
  }

  /**
   * Streams a container's stdio over `client` (a hijacked connection): output
   * as stdcopy frames (raw with a TTY), client bytes to the container's stdin.
   * Before start, waits for the start; ends when the container's output ends.
   */
  async attach(idOrName: string, o: AttachOptions, client: Duplex): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    const tty = !!c.Config.Tty;
    const keys = o.detachKeys ? parseDetachKeys(o.detachKeys) : DEFAULT_DETACH_KEYS;
    if (!keys) throw invalid(`Invalid detach keys (${o.detachKeys}) provided`);
    const send = (stream: number, payload: Buffer) => {
      if (client.destroyed || client.writableEnded) return;
      if (stream === STDOUT && !o.stdout) return;
      if (stream === STDERR && !o.stderr) return;
      client.write(tty ? payload : frame(stream, payload));
    };
    if (o.logs) {
      await readLog(
        this.logFile(c),
        { stdout: o.stdout, stderr: o.stderr, follow: false },
        (e) => send(e.stream === 'stderr' ? STDERR : STDOUT, e.text),
        Promise.resolve(),
        new AbortController().signal,
      );
    }
    if (!o.stream) {
      client.end();
      return;
    }
    let sock: SeqpacketSocket | undefined;
    if (c.State.Running) {
      sock = await this.ctx.runtime.connectAttach(c.Id).catch(() => undefined);
    } else {
      sock = await new Promise<SeqpacketSocket | undefined>((resolve) => {
        const list = this.pendingAttach.get(c.Id) ?? [];
        list.push(resolve);
        this.pendingAttach.set(c.Id, list);
        client.once('close', () => {
          const l = this.pendingAttach.get(c.Id);
          if (l) this.pendingAttach.set(c.Id, l.filter((x) => x !== resolve));
          resolve(undefined);
        });
      });
    }
    if (!sock) {
      client.end();
      return;
    }
    // As dockerd, the daemon watches for the detach keys only with a TTY.
    const ended = await bridgeAttach(sock, client, { tty, stdin: o.stdin && !!c.Config.OpenStdin, stdout: o.stdout, stderr: o.stderr, detachKeys: tty ? keys : undefined });
    if (ended === 'detached') {
      this.ctx.publish(c, 'detach');
      // dockerd closes the connection: the client sees its output end at once.
      if (!client.destroyed) client.end(() => client.destroy());
      return;
    }
    if (!client.destroyed) client.end();
  }

  /** The file a container's log is read from; dockerd's 501 when its driver keeps none. */
  logFile(c: ContainerRecord): string {
    const file = this.ctx.logStorage(c).file;
    if (!file) throw new EngineError('notimplemented', 'configured logging driver does not support reading');
    return file;
  }

  async resize(idOrName: string, h: number, w: number): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (!c.Config.Tty) return;
    await this.ctx.runtime.resize(this.ctx.bundleDir(c.Id), h, w).catch(() => undefined);
  }

  /** Streams log entries to `write` (framed unless TTY); with follow, until exit or abort. */
  async logs(idOrName: string, o: LogReadOptions & { timestamps: boolean; details?: boolean }, write: (b: Buffer) => void, signal: AbortSignal): Promise<{ tty: boolean }> {
    const c = this.ctx.store.resolve(idOrName);
    const file = this.logFile(c);
    const tty = !!c.Config.Tty;
    const stopped = c.State.Running ? this.waitFor(c.Id, 'not-running', signal).catch(() => undefined) : Promise.resolve();
    // --details puts the attributes the log options select (labels, env) and a space before each line, as dockerd.
    const details = o.details ? detailsPrefix(extraAttributes(c.HostConfig.LogConfig?.Config ?? {}, c.Config.Labels ?? {}, c.Config.Env ?? [])) : null;
    // Entries go out in batches of about 64 KiB, each frame header and text copied once into the batch:
    // one write (or one small header buffer) per entry is most of the time of a long read.
    const BATCH = 64 * 1024;
    let batch = Buffer.allocUnsafe(BATCH);
    let size = 0;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (!size) return;
      // The batch goes to the socket as it is: the next one is a new buffer.
      write(batch.subarray(0, size));
      batch = Buffer.allocUnsafe(BATCH);
      size = 0;
    };
    await readLog(
      file,
      { ...o, follow: o.follow && c.State.Running },
      (e) => {
        const stamp = o.timestamps ? `${e.time} ` : '';
        const length = stamp.length + (details?.length ?? 0) + e.text.length;
        const need = length + (tty ? 0 : 8);
        if (size + need > batch.length) {
          flush();
          if (need > batch.length) batch = Buffer.allocUnsafe(need);
        }
        if (!tty) {
          batch[size] = e.stream === 'stderr' ? STDERR : STDOUT;
          batch.fill(0, size + 1, size + 4);
          batch.writeUInt32BE(length, size + 4);
          size += 8;
        }
        // The stamp is ASCII: its length in bytes is its length in characters.
        if (stamp) size += batch.write(stamp, size, 'latin1');
        if (details) size += details.copy(batch, size);
        size += e.text.copy(batch, size);
        // A follow sends what it has as soon as the read in hand is done.
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      },
      stopped,
      signal,
    );
    flush();
    return { tty };
  }
}
