/**
 * @module engine/network/embedded-dns-tcp
 * DNS over TCP on 127.0.0.11:53, which dockerd's embedded resolver answers
 * and Debian's aardvark-dns 1.4 does not (it listens on UDP only). For each
 * running container on a user network berthd holds a TCP listener on
 * 127.0.0.11:53 in the container's namespace and a UDP socket there, both
 * made in the namespace by a short-lived helper (./embedded-dns-tcp-socket.ts)
 * and handed over. A query read from a connection (RFC 1035 4.2.2: a
 * two-byte length, then the message) is sent on as UDP to 127.0.0.11:53,
 * where the namespace's rules (./embedded-dns.ts) carry it to aardvark from
 * the container's own address: aardvark scopes its answers, and picks the
 * --dns servers it forwards to, by that address, so a TCP answer is the UDP
 * one. The only part of a message read is its ID, rewritten so that queries
 * of several connections in flight on the one UDP socket do not mix.
 *
 * The sockets hold the namespace: they are closed when the container's
 * network is released (it stops), and made again for running containers
 * after a daemon restart. Made off the start's path: a TCP query in the
 * first moment of a container's life may be refused.
 */
import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';
import type net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_DNS } from './embedded-dns.js';

const HELPER = fileURLToPath(new URL('./embedded-dns-tcp-socket.js', import.meta.url));
/** How long a query waits for aardvark's answer (aardvark itself gives upstreams a few seconds). */
const QUERY_TIMEOUT_MS = 10_000;
/** A connection with nothing to do is closed (RFC 7766 6.2.3 suggests seconds). */
const IDLE_MS = 30_000;
const MAX_MESSAGE = 65_535;
const RESEND_MS = 1000;
/** The helper's nice value: below the daemon's, above idle. */
const HELPER_PRIORITY = 10;

interface Relay {
  server: net.Server;
  udp: dgram.Socket;
  /** Rewritten ID → where the answer goes and the ID it had. */
  pending: Map<number, { id: number; answer: (msg: Buffer) => void; timer: NodeJS.Timeout }>;
  next: number;
}

export class EmbeddedDnsTcp {
  private readonly relays = new Map<string, Relay>();
  /** Containers whose sockets are being made, so that a second open() waits for the first, and close() can call it off. */
  private readonly opening = new Map<string, { done: Promise<void>; abort: AbortController }>();

  /** Makes the container's listener unless it has one. Errors are the caller's to log or drop. */
  open(containerId: string, netns: string): Promise<void> {
    if (this.relays.has(containerId)) return Promise.resolve();
    let o = this.opening.get(containerId);
    if (!o) {
      const abort = new AbortController();
      o = { abort, done: this.make(containerId, netns, abort.signal).finally(() => this.opening.delete(containerId)) };
      this.opening.set(containerId, o);
    }
    return o.done;
  }

  /**
   * Closes the container's listener and socket (it stops, or its namespace
   * goes). A helper still making them is killed rather than waited for: a
   * container that exits at once does not wait for a Node start.
   */
  async close(containerId: string): Promise<void> {
    const o = this.opening.get(containerId);
    if (o) {
      o.abort.abort();
      await o.done.catch(() => undefined);
    }
    const r = this.relays.get(containerId);
    if (!r) return;
    this.relays.delete(containerId);
    for (const q of r.pending.values()) clearInterval(q.timer);
    r.pending.clear();
    r.server.close();
    r.udp.close();
  }

  /** Whether the container has its listener (tests, the check). */
  has(containerId: string): boolean {
    return this.relays.has(containerId);
  }

  private async make(containerId: string, netns: string, signal: AbortSignal): Promise<void> {
    const { server, udp } = await sockets(netns, signal);
    if (signal.aborted) {
      server.close();
      udp.close();
      return;
    }
    const relay: Relay = { server, udp, pending: new Map(), next: Math.floor(Math.random() * 0x10000) };
    udp.on('message', (msg) => {
      if (msg.length < 2) return;
      const q = relay.pending.get(msg.readUInt16BE(0));
      if (!q) return;
      relay.pending.delete(msg.readUInt16BE(0));
      clearInterval(q.timer);
      msg.writeUInt16BE(q.id, 0);
      q.answer(msg);
    });
    udp.on('error', () => undefined);
    server.maxConnections = 64;
    server.on('connection', (sock) => serve(relay, sock));
    server.on('error', () => undefined);
    this.relays.set(containerId, relay);
  }
}

/** Has the helper make the two sockets in `netns` and hand them over. */
function sockets(netns: string, signal: AbortSignal): Promise<{ server: net.Server; udp: dgram.Socket }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('closed before it was open'));
      return;
    }
    const child = spawn('nsenter', [`--net=${netns}`, process.execPath, HELPER, EMBEDDED_DNS], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    // A Node start is ~100 ms of CPU: it yields to the work clients wait for (nsenter's exec keeps the priority).
    if (child.pid) {
      try {
        os.setPriority(child.pid, HELPER_PRIORITY);
      } catch {
        // exited already, or not allowed: it runs at the daemon's priority
      }
    }
    let server: net.Server | undefined;
    let done = false;
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    signal.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
    child.on('message', (m, handle) => {
      if (m === 'server') server = handle as net.Server;
      else if (m === 'udp' && server) {
        clearTimeout(timer);
        done = true;
        resolve({ server, udp: handle as unknown as dgram.Socket });
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      // The helper exits once it handed both over; before that, it failed.
      if (done) return;
      server?.close();
      reject(new Error(`DNS over TCP on ${EMBEDDED_DNS}: ${stderr.trim() || `helper exit status ${code}`}`));
    });
  });
}

/** One TCP connection: length-prefixed queries in, each sent on as UDP, the answers written back framed. */
function serve(relay: Relay, sock: net.Socket): void {
  let buf = Buffer.alloc(0);
  sock.setTimeout(IDLE_MS, () => sock.destroy());
  sock.on('error', () => undefined);
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len < 12) {
        // Shorter than a DNS header: not DNS; nothing sensible to answer.
        sock.destroy();
        return;
      }
      if (buf.length < 2 + len) break;
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      forward(relay, msg, (answer) => {
        if (sock.destroyed || answer.length > MAX_MESSAGE) return;
        const frame = Buffer.alloc(2 + answer.length);
        frame.writeUInt16BE(answer.length, 0);
        answer.copy(frame, 2);
        sock.write(frame);
      });
    }
  });
}

/**
 * Sends one query on as UDP, again every RESEND_MS until answered, as a stub
 * resolver does: aardvark re-binds its sockets on every reload (each
 * container start or stop), and a datagram arriving in between is lost.
 */
function forward(relay: Relay, msg: Buffer, answer: (msg: Buffer) => void): void {
  // A free ID among those in flight (at most a few per container).
  let id = relay.next;
  for (let i = 0; i < 0x10000 && relay.pending.has(id); i++) id = (id + 1) & 0xffff;
  if (relay.pending.has(id)) return;
  relay.next = (id + 1) & 0xffff;
  const original = msg.readUInt16BE(0);
  msg.writeUInt16BE(id, 0);
  const send = () => relay.udp.send(msg, 53, EMBEDDED_DNS, () => undefined);
  const started = Date.now();
  const timer: NodeJS.Timeout = setInterval(() => {
    if (Date.now() - started >= QUERY_TIMEOUT_MS) {
      clearInterval(timer);
      relay.pending.delete(id);
    } else send();
  }, RESEND_MS);
  relay.pending.set(id, { id: original, answer, timer });
  send();
}
