/**
 * Bridging a client connection (a hijacked HTTP stream) and a conmon attach
 * socket, for container attach and exec alike.
 *
 * conmon's side is SOCK_SEQPACKET: each packet it sends starts with the
 * stream byte (2 = stdout, 3 = stderr); each packet we send is stdin bytes,
 * read by conmon into a 32 KiB buffer (longer packets would be truncated, so
 * stdin is cut into packets no longer than ATTACH_MAX_PACKET). When the
 * client half-closes, we shut down our write side: conmon then closes the
 * process's stdin (unless it runs with --leave-stdin-open) while output
 * keeps flowing until the process ends and conmon closes the socket.
 */
import type { Duplex } from 'node:stream';
import type { SeqpacketSocket } from 'node-unix-socket';
import { frame, STDERR, STDOUT } from '../../common/stdcopy.js';
import { ATTACH_MAX_PACKET } from './conmon.js';
import { DetachKeyMatcher } from './detach-keys.js';

export interface BridgeOptions {
  /** Raw output (a TTY) rather than stdcopy frames. */
  tty: boolean;
  /** Forward the client's bytes to the process's stdin. */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /**
   * Watch stdin for these detach keys (./detach-keys.ts): when they come,
   * the bridge ends ('detached') and the process keeps running.
   */
  detachKeys?: Buffer;
}

/** How a bridge ended: the process's output ended or the client went ('ended'), or the client detached. */
export type BridgeEnd = 'ended' | 'detached';

/** Stdin packets in flight before we stop reading the client (conmon is slower than the network). */
const MAX_PENDING_PACKETS = 64;

/**
 * Copies until conmon closes the socket (the process ended and its output is
 * drained), the client goes away or types the detach keys. Never ends `client`: the caller decides
 * what, if anything, follows the output. Destroys `sock` on the way out.
 */
export function bridgeAttach(sock: SeqpacketSocket, client: Duplex, o: BridgeOptions): Promise<BridgeEnd> {
  return new Promise<BridgeEnd>((resolve) => {
    let done = false;
    const finish = (how: BridgeEnd = 'ended') => {
      if (done) return;
      done = true;
      sock.destroy();
      client.off('data', onClientData);
      client.off('end', onClientEnd);
      client.off('close', onGone);
      client.off('error', onGone);
      resolve(how);
    };
    const onGone = () => finish();
    const matcher = o.detachKeys?.length ? new DetachKeyMatcher(o.detachKeys) : undefined;
    sock.on('data', (buf: Buffer) => {
      if (buf.length < 1 || client.destroyed || client.writableEnded) return;
      const stream = buf[0] === 3 ? STDERR : STDOUT;
      if (stream === STDOUT && !o.stdout) return;
      if (stream === STDERR && !o.stderr) return;
      const payload = buf.subarray(1);
      client.write(o.tty ? payload : frame(stream, payload));
    });
    sock.on('end', onGone);
    sock.on('close', onGone);
    sock.on('error', onGone);

    let pending = 0;
    const toProcess = (d: Buffer) => {
      for (let off = 0; off < d.length; off += ATTACH_MAX_PACKET) {
        pending++;
        sock.write(d.subarray(off, off + ATTACH_MAX_PACKET), 0, undefined, () => {
          pending--;
          if (pending < MAX_PENDING_PACKETS / 2 && client.isPaused()) client.resume();
        });
      }
      if (pending >= MAX_PENDING_PACKETS) client.pause();
    };
    const onClientData = (d: Buffer) => {
      if (done) return;
      if (!matcher) {
        toProcess(d);
        return;
      }
      const { pass, detach } = matcher.feed(d);
      if (pass.length) toProcess(pass);
      // What came before the keys is written before the socket goes (seqpacket writes are queued in order).
      if (detach) finish('detached');
    };
    // Half-close: conmon closes the process's stdin once our queued packets are written.
    const onClientEnd = () => {
      if (done) return;
      const rest = matcher?.flush();
      if (rest?.length) toProcess(rest);
      sock.end();
    };
    if (o.stdin) {
      client.on('data', onClientData);
      // A socket emits 'end' at EOF whether or not anyone listens: a client that
      // half-closed before we got here (empty stdin, while the container was
      // being created) has already ended.
      if (client.readableEnded) onClientEnd();
      else client.on('end', onClientEnd);
    } else {
      // Drain and ignore: a client without stdin half-closes at once, which must not end the stream.
      client.on('data', () => undefined);
    }
    // Reading exec start's body may have left the socket paused (a body that came in
    // its own packet, as the Go client sends it), and a 'data' listener does not undo
    // an explicit pause: stdin and its EOF would then never be read.
    client.resume();
    client.on('close', onGone);
    client.on('error', onGone);
    if (client.destroyed) finish();
  });
}
