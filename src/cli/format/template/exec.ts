/**
 * @module cli/format/template/exec
 * The executor of Go's text/template (text/template/exec.go): walks a parse
 * tree against data, resolving fields, variables, pipelines and function
 * calls, with Go's truthiness, range and error wording.
 */
import { formatValue, goQuote, goTypeName } from '../../../common/gofmt.js';
import { TemplateError } from './error.js';
import { lex } from './lex.js';
import { nodeString, type AnyNode, type ArgNode, type BranchNode, type ChainNode, type CommandNode, type FieldNode, type IdentifierNode, type ListNode, type Node, type PipeNode, type VariableNode } from './node.js';
import { Parser } from './parse.js';
import { builtinFuncs, isTrue, MAX_TEMPLATE_OUTPUT, paramTypeName, type FuncSpec, type ParamType, type TemplateFunc } from './funcs.js';

const MISSING = Symbol('missing');
type Final = unknown;

/**
 * Bounds on one execution. Go's text/template bounds only recursion, which
 * this port has not (no define/template); `{{range 1000000000}}` or nested
 * ranges would still run for hours and grow the output without end, so a
 * `--format` stops at a million steps (about half a second; a row of
 * `docker ps` takes a few dozen, `docker inspect` of a large container a
 * few thousand) or 64 Mi characters of output.
 */
export const MAX_TEMPLATE_STEPS = 1_000_000;

class BreakSignal {}
class ContinueSignal {}

export interface RenderOptions {
  /** Extra or overriding template functions (plain JS functions, arguments unchecked). */
  funcs?: Record<string, TemplateFunc>;
  /**
   * Whether an object is a Go map (missing keys print "<no value>") rather
   * than a struct (missing fields are an error). By default objects that are
   * empty or have a key not starting with an upper-case letter are maps.
   */
  isMap?: (o: object) => boolean;
  /** Go type name of the data, for "can't evaluate field X in type T" errors. */
  typeName?: string;
}

export function defaultIsMap(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(o);
  return keys.length === 0 || keys.some((k) => !/^[A-Z]/.test(k));
}

/** A parsed template, ready to execute. */
export interface Template {
  text: string;
  root: ListNode;
}

export function parseTemplate(text: string, funcs: Record<string, FuncSpec>): Template {
  const items = lex(text);
  const root = new Parser(items, (name) => Object.hasOwn(funcs, name)).parse();
  return { text, root };
}

class ExecState {
  out = '';
  private steps = 0;
  private node: AnyNode | undefined;
  private vars: { name: string; value: unknown }[];

  constructor(
    private readonly tmpl: Template,
    private readonly funcs: Record<string, FuncSpec>,
    private readonly isMap: (o: object) => boolean,
    private readonly rootData: unknown,
    private readonly typeName: string | undefined,
  ) {
    this.vars = [{ name: '$', value: rootData }];
  }

  private at(n: AnyNode): void {
    this.node = n;
  }

  private errorf(msg: string): never {
    if (!this.node) throw new TemplateError(`template: : ${msg}`);
    // location is line:column, the column a byte offset within the line
    const pos = this.node.pos;
    const before = this.tmpl.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = before.split('\n').length;
    const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1), 'utf8');
    throw new TemplateError(`template: :${line}:${col}: executing "" at <${nodeString(this.node)}>: ${msg}`);
  }

  private typeOf(v: unknown): string {
    if (v === this.rootData && this.typeName) return this.typeName;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !this.isMap(v)) return 'struct';
    return goTypeName(v);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    if (++this.steps > MAX_TEMPLATE_STEPS) this.errorf(`template exceeded its work limit of ${MAX_TEMPLATE_STEPS} steps`);
    switch (node.kind) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(node, dot);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'text':
        this.emit(node.text);
        return;
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(node: BranchNode, dot: unknown): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const [truth, ok] = isTrue(val, this.isMap);
      if (!ok) this.errorf(`if/with can't use ${formatValue(val)}`);
      if (truth) this.walk(node.kind === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const outer = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const decl = r.pipe.decl;
      const oneIteration = (index: unknown, elem: unknown): void => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? index : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.vars[this.vars.length - 2].value = index;
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = mark;
        }
      };
      let iterated = false;
      try {
        if (Array.isArray(val)) {
          val.forEach((e, i) => oneIteration(i, e));
          iterated = val.length > 0;
        } else if (typeof val === 'number' && Number.isInteger(val)) {
          // Go 1.22: range over an integer
          if (decl.length > 1) this.errorf(`can't use ${val} to iterate over more than one variable`);
          for (let i = 0; i < val; i++) oneIteration(i, i);
          iterated = val > 0;
        } else if (val !== null && val !== undefined && typeof val === 'object') {
          // maps iterate in sorted key order
          const o = val as Record<string, unknown>;
          const keys = Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          keys.forEach((k) => oneIteration(k, o[k]));
          iterated = keys.length > 0;
        } else if (val !== null && val !== undefined) {
          this.errorf(`range can't iterate over ${formatValue(val)}`);
        }
      } catch (e) {
        if (e instanceof BreakSignal) return;
        throw e;
      }
      if (!iterated && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = outer;
    }
  }

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.vars.push({ name: v.ident[0], value });
    }
    return value;
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
        break;
      case 'number':
        return first.value;
      case 'string':
        return first.text;
    }
    this.errorf(`can't evaluate command ${goQuote(nodeString(first))}`);
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(chain);
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'any', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: AnyNode, ident: string[], args: ArgNode[] | null, final: Final): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, null, MISSING, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  private evalField(dot: unknown, fieldName: string, node: AnyNode, args: ArgNode[] | null, final: Final, receiver: unknown): unknown {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (typeof receiver === 'object' && !Array.isArray(receiver)) {
      const o = receiver as Record<string, unknown>;
      // own properties, or getters/methods of class instances, but never Object.prototype's
      const own = Object.prototype.hasOwnProperty.call(o, fieldName) || (fieldName in o && !(fieldName in Object.prototype));
      const member = own ? o[fieldName] : undefined;
      if (typeof member === 'function') {
        // a method: call it with the arguments
        return this.evalCall(dot, { fn: (member as (...a: unknown[]) => unknown).bind(o) }, node, fieldName, args, final);
      }
      const map = this.isMap(o);
      if (own) {
        if (hasArgs) {
          this.errorf(map ? `${fieldName} is not a method but has arguments` : `${fieldName} has arguments but cannot be invoked as function`);
        }
        return o[fieldName] === undefined ? null : o[fieldName];
      }
      if (map) {
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        return undefined;
      }
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${this.typeOf(receiver)}`);
  }

  private evalFunction(dot: unknown, node: IdentifierNode, cmd: AnyNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(node);
    const fn = Object.hasOwn(this.funcs, node.name) ? this.funcs[node.name] : undefined;
    if (!fn) this.errorf(`${goQuote(node.name)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.name, args, final);
  }

  private evalCall(dot: unknown, fun: FuncSpec, node: AnyNode, name: string, argNodes: ArgNode[] | null, final: Final): unknown {
    const args = argNodes ? argNodes.slice(1) : [];
    let argv: unknown[];
    if (fun.params) {
      const params = fun.params;
      const numIn = args.length + (final !== MISSING ? 1 : 0);
      let numFixed = args.length;
      if (fun.variadic) {
        numFixed = params.length;
        if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${params.length} got ${args.length}`);
      } else if (numIn !== params.length) {
        this.errorf(`wrong number of args for ${name}: want ${params.length} got ${numIn}`);
      }
      if (fun.builtin && (name === 'and' || name === 'or')) {
        // and/or short-circuit: stop at the first false/true argument
        let v: unknown;
        for (const a of args) {
          v = this.evalArg(dot, 'any', a);
          if (isTrue(v, this.isMap)[0] === (name === 'or')) return v;
        }
        if (final !== MISSING) v = this.validateType(final, 'any');
        return v;
      }
      argv = [];
      let i = 0;
      for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, params[i], args[i]));
      if (fun.variadic) for (; i < args.length; i++) argv.push(this.evalArg(dot, fun.variadic, args[i]));
      if (final !== MISSING) {
        const t = fun.variadic && numIn - 1 >= numFixed ? fun.variadic : params[numIn - 1];
        argv.push(this.validateType(final, t));
      }
      if (fun.builtin && name === 'not') return !isTrue(argv[0], this.isMap)[0];
    } else {
      argv = args.map((a) => this.evalArg(dot, 'any', a));
      if (final !== MISSING) argv.push(final);
    }
    try {
      return fun.fn(...argv);
    } catch (e) {
      if (e instanceof TemplateError || e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
      this.at(node);
      this.errorf(`error calling ${name}: ${(e as Error).message ?? String(e)}`);
    }
  }

  private validateType(value: unknown, typ: ParamType): unknown {
    if (value === undefined) {
      if (typ === 'any' || typ === '[]string') return null;
      this.errorf(`invalid value; expected ${paramTypeName[typ]}`);
    }
    const wrong = (): never => this.errorf(`wrong type for value; expected ${paramTypeName[typ]}; got ${this.typeOf(value)}`);
    switch (typ) {
      case 'any':
        return value;
      case 'string':
        return typeof value === 'string' ? value : wrong();
      case 'int':
        return typeof value === 'number' && Number.isInteger(value) ? value : wrong();
      case 'float':
        return typeof value === 'number' ? value : wrong();
      case 'bool':
        return typeof value === 'boolean' ? value : wrong();
      case '[]string':
        return value === null || (Array.isArray(value) && value.every((e) => typeof e === 'string')) ? value : wrong();
    }
  }

  private evalArg(dot: unknown, typ: ParamType, n: ArgNode): unknown {
    this.at(n);
    switch (n.kind) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'any' || typ === '[]string') return null;
        this.errorf(`cannot assign nil to ${paramTypeName[typ]}`);
        break;
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, null, MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, null, MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.kind === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
        break;
      case 'float':
        if (n.kind === 'number' && n.isFloat) return n.value;
        this.errorf(`expected float; found ${nodeString(n)}`);
        break;
      case 'int':
        if (n.kind === 'number' && n.isInt) return n.value;
        this.errorf(`expected integer; found ${nodeString(n)}`);
        break;
      case 'string':
        if (n.kind === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
        break;
      case 'any':
        if (n.kind === 'bool') return n.value;
        if (n.kind === 'number') return n.value;
        if (n.kind === 'string') return n.text;
        break;
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${paramTypeName[typ]}`);
  }

  private printValue(n: AnyNode, v: unknown): void {
    this.at(n);
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${goTypeName(v)}`);
    this.emit(v === undefined ? '<no value>' : formatValue(v));
  }

  private emit(s: string): void {
    if (this.out.length + s.length > MAX_TEMPLATE_OUTPUT) this.errorf(`template output exceeded ${MAX_TEMPLATE_OUTPUT} characters`);
    this.out += s;
  }
}

export function buildFuncs(base: Record<string, FuncSpec>, extra?: Record<string, TemplateFunc>): Record<string, FuncSpec> {
  const funcs: Record<string, FuncSpec> = { ...builtinFuncs, ...base };
  for (const [name, fn] of Object.entries(extra ?? {})) funcs[name] = { fn: fn as FuncSpec['fn'] };
  return funcs;
}

/** Execute a parsed template; returns the output so far and the error, if any (docker keeps partial headers). */
export function execute(
  tmpl: Template,
  data: unknown,
  funcs: Record<string, FuncSpec>,
  isMap: (o: object) => boolean,
  typeName?: string,
): { out: string; error?: TemplateError } {
  const state = new ExecState(tmpl, funcs, isMap, data, typeName);
  try {
    state.walk(data, tmpl.root);
    return { out: state.out };
  } catch (e) {
    if (e instanceof TemplateError) return { out: state.out, error: e };
    throw e;
  }
}
