/**
 * Engine error kinds. The engine never speaks HTTP: it throws an EngineError
 * with a kind, and the API edge (src/api/errors.ts) maps each kind to Docker's
 * status code once.
 */
export type ErrorKind =
  | 'invalid' // 400: bad parameter or body
  | 'notfound' // 404: no such container/image/exec
  | 'conflict' // 409: name in use, image in use, wrong state
  | 'notmodified' // 304: already started/stopped
  | 'unauthorized' // 401: a registry refused the credentials
  | 'forbidden' // 403
  | 'toolarge' // 413: a request body over the API's cap (src/api/limits.ts)
  | 'unavailable' // 503
  | 'notimplemented' // 501
  | 'system'; // 500

export class EngineError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'EngineError';
  }
}

export const invalid = (msg: string, cause?: unknown) => new EngineError('invalid', msg, { cause });
export const notFound = (msg: string) => new EngineError('notfound', msg);
export const conflict = (msg: string) => new EngineError('conflict', msg);
export const system = (msg: string, cause?: unknown) => new EngineError('system', msg, { cause });

/** The kind of any thrown value; plain errors are system errors. */
export function errorKind(err: unknown): ErrorKind {
  return err instanceof EngineError ? err.kind : 'system';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
