/**
 * @module cli/format/template/error
 * The one error type of the template engine, worded like Go's text/template
 * (users see the messages verbatim).
 */
/** An error from parsing or executing a template, worded like Go's. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}
