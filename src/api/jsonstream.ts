/**
 * Docker's JSON message streams (load, import, pull, push, build): one JSON
 * object per line, `\r\n`-terminated, as moby's streamformatter writes them.
 * Errors follow dockerd's rule: until the first message has gone out the
 * handler's error becomes the HTTP status (the caller throws it); once the
 * stream has begun, the status is already 200 and the error travels in the
 * stream as `{"errorDetail":{"message":…},"error":…}`, which is what clients
 * (the docker CLI, dockerode's followProgress, docker-py) read.
 */
import type { ServerResponse } from 'node:http';
import { errorMessage } from '../engine/errors.js';

export class JsonMessageStream {
  private begun = false;

  constructor(private readonly res: ServerResponse) {}

  /** True once the status line and a first message have gone out. */
  get started(): boolean {
    return this.begun;
  }

  /** Sends the 200 head now (dockerd's WriteFlusher after its first write): later errors go in-band. */
  begin(): void {
    if (this.begun) return;
    this.begun = true;
    this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.flushHeaders();
  }

  write(msg: object): void {
    this.begin();
    this.res.write(`${JSON.stringify(msg)}\r\n`);
  }

  /** A status line (`{"status":"…"}`), as streamformatter.FormatStatus writes one. */
  status(text: string, id?: string): void {
    this.write(id ? { status: text, id } : { status: text });
  }

  /** The in-band error (streamformatter.FormatError); begins the stream if need be. */
  error(err: unknown): void {
    const message = errorMessage(err);
    this.write({ errorDetail: { message }, error: message });
  }

  end(): void {
    this.begin();
    this.res.end();
  }

  /**
   * Ends the stream with `err`: thrown back (to become the HTTP status) when
   * nothing has been sent, written in-band otherwise.
   */
  fail(err: unknown): void {
    if (!this.begun) throw err;
    this.error(err);
    this.res.end();
  }
}
