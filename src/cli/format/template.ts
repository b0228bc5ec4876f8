// Go text/template for --format: a port of the lexer, parser and executor of
// Go's text/template (actions, pipelines, variables, if/else/with/range/
// break/continue, the builtin functions) plus docker's template functions
// (docker/cli templates/templates.go) and docker's formatter flow
// (cli/command/formatter/formatter.go): "table" prefix, header row from a
// header map, tabwriter alignment, "json" as {{json .}}.
// Error messages follow Go's wording, since users see them verbatim.
// Not supported: define/template/block, complex numbers, hex floats.
//
// The port lives in template/, one file per part of Go's implementation:
// lex.ts, node.ts and parse.ts (text/template/parse), funcs.ts (builtins and
// docker's functions), exec.ts (exec.go). This file is docker's formatter on
// top of it.

import { TemplateError } from './template/error.js';
import { dockerFuncs, headerFuncs, type TemplateFunc } from './template/funcs.js';
import { buildFuncs, defaultIsMap, execute, parseTemplate, type RenderOptions, type Template } from './template/exec.js';
import { tabwrite } from './table.js';

export { TemplateError } from './template/error.js';
export type { RenderOptions } from './template/exec.js';
export type { TemplateFunc } from './template/funcs.js';

/**
 * Render a Go text/template against data with docker's template functions
 * (json, split, join, title, lower, upper, pad, truncate) and Go's builtins.
 * Throws TemplateError with Go's wording on parse or execution errors.
 */
export function renderTemplate(tmpl: string, data: unknown, options: RenderOptions = {}): string {
  const funcs = buildFuncs(dockerFuncs, options.funcs);
  const parsed = parseTemplate(tmpl, funcs);
  const { out, error } = execute(parsed, data, funcs, options.isMap ?? defaultIsMap, options.typeName);
  if (error) throw error;
  return out;
}

/**
 * docker's Context.preFormat: "table ..." (prefix stripped) or "json"
 * ({{json .}}), spaces trimmed, and literal \t and \n turned into a tab and a
 * newline.
 */
export function parseFormat(format: string): { table: boolean; template: string } {
  let template = format;
  const table = format.startsWith('table');
  if (table) template = format.slice('table'.length);
  else if (format === 'json') template = '{{json .}}';
  template = template.replace(/^ +| +$/g, '');
  template = template.replace(/\\[tn]/g, (m) => (m === '\\t' ? '\t' : '\n'));
  return { table, template };
}

export interface FormatOptions {
  /** Extra template functions. */
  funcs?: Record<string, TemplateFunc>;
  /** Go type name for "can't evaluate field X in type T", e.g. "*formatter.ContainerContext". */
  typeName?: string;
}

function sortKeys(row: Record<string, unknown>): Record<string, unknown> {
  // docker marshals its row contexts through a map, so {{json .}} has sorted keys
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = row[k];
  return out;
}

/** SubHeaderContext.Label: the header for {{.Label "com.example.name"}} is "name". */
function headerLabel(name: string): string {
  const n = name.split('.');
  return n[n.length - 1].replace(/[-_]/g, ' ');
}

/**
 * docker's formatter Context.Write: render every row with the --format
 * template (one line per row); for "table" formats, add the header row
 * rendered from the headers map (e.g. { ID: 'CONTAINER ID' }) and align the
 * columns with the tabwriter. "json" gives one JSON object per line.
 * Row fields missing from headers fall back to the upper-cased field name.
 * Errors are thrown as TemplateError("template parsing error: ...") like docker.
 */
export function formatWithTemplate(
  format: string,
  rows: Record<string, unknown>[],
  headers: Record<string, string>,
  options: FormatOptions = {},
): string {
  const { table, template } = parseFormat(format);
  const funcs = buildFuncs(dockerFuncs, options.funcs);
  let parsed: Template;
  try {
    parsed = parseTemplate(template, funcs);
  } catch (e) {
    if (e instanceof TemplateError) throw new TemplateError(`template parsing error: ${e.message}`);
    throw e;
  }
  let body = '';
  for (const row of rows) {
    const { out, error } = execute(parsed, sortKeys(row), funcs, defaultIsMap, options.typeName);
    if (error) throw new TemplateError(`template parsing error: ${error.message}`);
    body += out + '\n';
  }
  if (!table) return body;

  const headerData: Record<string, unknown> = {};
  for (const row of rows.slice(0, 1)) {
    for (const k of Object.keys(row)) if (typeof row[k] !== 'function') headerData[k] = k.toUpperCase();
  }
  Object.assign(headerData, headers);
  if (typeof headerData.Label !== 'function') headerData.Label = headerLabel;
  const headerFuncSet = buildFuncs({ ...dockerFuncs, ...headerFuncs }, options.funcs);
  // docker ignores errors while rendering the header and keeps what was written
  const header = execute(parsed, headerData, headerFuncSet, () => true).out;
  return tabwrite(header + '\n' + body);
}
