/**
 * What every command works with: the daemon address (-H, then BERTH_HOST,
 * then DOCKER_HOST, then the default socket), a lazily created API client,
 * and the process's standard streams.
 */
import { EngineClient } from '../client/client.js';
import { DEFAULT_HOST } from '../client/host.js';

export interface GlobalOptions {
  host?: string[];
  debug?: boolean;
  logLevel?: string;
}

export class Cli {
  readonly out: NodeJS.WriteStream = process.stdout;
  readonly err: NodeJS.WriteStream = process.stderr;

  /** Only touched by commands that read it: opening stdin is not free. */
  get in(): NodeJS.ReadStream {
    return process.stdin;
  }
  private engine?: EngineClient;

  constructor(private readonly globals: () => GlobalOptions) {}

  /** The daemon address; with several -H the first one is used. */
  get hostUrl(): string {
    return this.globals().host?.[0] || process.env.BERTH_HOST || process.env.DOCKER_HOST || DEFAULT_HOST;
  }

  get client(): EngineClient {
    // A pinned version skips negotiation, like DOCKER_API_VERSION does for docker.
    this.engine ??= new EngineClient(this.hostUrl, process.env.BERTH_API_VERSION || process.env.DOCKER_API_VERSION || undefined);
    return this.engine;
  }

  close(): void {
    this.engine?.close();
  }
}
