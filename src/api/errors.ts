/**
 * The one place engine error kinds become HTTP statuses (moby's
 * httpstatus.FromError), and how an error body looks: {"message": "…"}.
 */
import { errorKind, errorMessage, type ErrorKind } from '../engine/errors.js';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  notfound: 404,
  conflict: 409,
  notmodified: 304,
  unauthorized: 401,
  forbidden: 403,
  toolarge: 413,
  unavailable: 503,
  notimplemented: 501,
  system: 500,
};

export function statusOf(err: unknown): number {
  return STATUS[errorKind(err)];
}

export function errorBody(err: unknown): string {
  return JSON.stringify({ message: errorMessage(err) });
}
