/**
 * Errors the Engine API client raises: a daemon's error answer (ApiError),
 * a daemon that cannot be reached (ConnectError), and an error reported
 * inside a JSON-message stream (JsonMessageError).
 */

/** A 4xx/5xx answer; `message` is the daemon's {"message"} text, without any prefix. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** How docker shows it: "Error response from daemon: <message>". */
  display(): string {
    return `Error response from daemon: ${this.message}`;
  }
}

/** The daemon's socket refused us or does not exist. */
export class ConnectError extends Error {
  constructor(
    readonly hostUrl: string,
    cause?: unknown,
  ) {
    super(`Cannot connect to the berth daemon at ${hostUrl}. Is the berth daemon running?`, { cause });
    this.name = 'ConnectError';
  }
}

/** {"errorDetail":{"message":…},"error":…} inside a pull/import/build stream. */
export class JsonMessageError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'JsonMessageError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

/** Socket-level failures that mean "nobody is listening there". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTDIR', 'EADDRNOTAVAIL']);

export function isUnreachable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !!code && UNREACHABLE.has(code);
}
