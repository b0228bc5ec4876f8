/**
 * @module cli/format/template/node
 * The parse tree of Go's text/template (text/template/parse/node.go) and
 * node.String(), which error messages quote.
 */
import { goQuote } from '../../../common/gofmt.js';

export interface FieldNode { kind: 'field'; pos: number; ident: string[] }
export interface VariableNode { kind: 'variable'; pos: number; ident: string[] }
interface DotNode { kind: 'dot'; pos: number }
interface NilNode { kind: 'nil'; pos: number }
interface BoolNode { kind: 'bool'; pos: number; value: boolean }
export interface NumberNode { kind: 'number'; pos: number; text: string; isInt: boolean; isFloat: boolean; value: number }
interface StringNode { kind: 'string'; pos: number; quoted: string; text: string }
export interface IdentifierNode { kind: 'identifier'; pos: number; name: string }
export interface ChainNode { kind: 'chain'; pos: number; node: ArgNode; field: string[] }
export interface CommandNode { kind: 'command'; pos: number; args: ArgNode[] }
export interface PipeNode { kind: 'pipe'; pos: number; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
export type ArgNode = FieldNode | VariableNode | DotNode | NilNode | BoolNode | NumberNode | StringNode | IdentifierNode | ChainNode | PipeNode;

interface TextNode { kind: 'text'; pos: number; text: string }
interface ActionNode { kind: 'action'; pos: number; line: number; pipe: PipeNode }
export interface BranchNode { kind: 'if' | 'with' | 'range'; pos: number; line: number; pipe: PipeNode; list: ListNode; elseList?: ListNode }
export interface ListNode { kind: 'list'; pos: number; nodes: Node[] }
export interface LoopControlNode { kind: 'break' | 'continue'; pos: number; line: number }
export interface ElseNode { kind: 'else'; pos: number; line: number }
interface EndNode { kind: 'end'; pos: number }
export type Node = TextNode | ActionNode | BranchNode | ListNode | LoopControlNode | ElseNode | EndNode;
export type AnyNode = Node | ArgNode | CommandNode;

/** node.String(): the text shown in "executing ... at <...>". */
export function nodeString(n: AnyNode): string {
  switch (n.kind) {
    case 'field':
      return '.' + n.ident.join('.');
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'identifier':
      return n.name;
    case 'chain': {
      const inner = n.node.kind === 'pipe' ? '(' + nodeString(n.node) + ')' : nodeString(n.node);
      return inner + '.' + n.field.join('.');
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? '(' + nodeString(a) + ')' : nodeString(a))).join(' ');
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ');
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'text':
      return n.text.length > 10 ? goQuote(Array.from(n.text).slice(0, 10).join('')) + '...' : goQuote(n.text);
    case 'action':
      return '{{' + nodeString(n.pipe) + '}}';
    case 'if':
    case 'with':
    case 'range': {
      let s = `{{${n.kind} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'break':
    case 'continue':
      return `{{${n.kind}}}`;
    case 'else':
      return '{{else}}';
    case 'end':
      return '{{end}}';
  }
}
