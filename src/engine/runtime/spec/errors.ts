// The one error type spec building raises for problems the caller can fix
// (bad options, a user missing from the image), kept apart from build.ts so
// the helper modules can throw it without an import cycle.

/**
 * `invalid`: the request itself is wrong (unknown capability, bad ulimit…).
 * `notfound`: something the request names is missing from the image (user, group).
 * Host problems (unreadable seccomp profile, /proc unreadable) are plain Errors.
 */
export class SpecError extends Error {
  override name = 'SpecError';
  readonly kind: 'invalid' | 'notfound';

  constructor(kind: 'invalid' | 'notfound', message: string) {
    super(message);
    this.kind = kind;
  }
}
