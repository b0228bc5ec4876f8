/**
 * @module engine/build/instructions
 * Parsed Dockerfile nodes (./parser.ts) → typed instructions grouped in
 * stages, with the validation BuildKit's instructions package does (flags
 * each instruction accepts, argument counts) and its messages. Variables
 * are not expanded here: that needs the build's state (ENV, ARG), which the
 * executor has.
 */
import { DockerfileParseError, splitWords, type Heredoc, type Node, type ParseResult } from './parser.js';

export interface KeyValue {
  key: string;
  /** Unexpanded; undefined for `ARG name` without a default. */
  value?: string;
}

export interface RunMount {
  type: 'cache' | 'bind' | 'tmpfs';
  target: string;
  /** cache: the cache's id (default: the target); bind: the path in the source. */
  id?: string;
  source?: string;
  from?: string;
  readonly: boolean;
  sharing?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

interface Base {
  line: number;
  original: string;
}

export type Instruction =
  | (Base & { kind: 'from'; image: string; stageName?: string; platform?: string })
  | (Base & { kind: 'run'; json?: string[]; shellCmd?: string; mounts: RunMount[]; network?: 'default' | 'none' | 'host'; heredocs: Heredoc[] })
  | (Base & { kind: 'cmd' | 'entrypoint'; json?: string[]; shellCmd?: string })
  | (Base & { kind: 'env' | 'label'; pairs: KeyValue[] })
  | (Base & { kind: 'arg'; args: KeyValue[] })
  | (Base & { kind: 'copy' | 'add'; sources: string[]; dest: string; from?: string; chown?: string; chmod?: string; link: boolean; heredocs: Heredoc[]; json: boolean; checksum?: string; keepGitDir?: boolean })
  | (Base & { kind: 'expose' | 'volume'; values: string[]; json: boolean })
  | (Base & { kind: 'user' | 'workdir' | 'stopsignal' | 'maintainer'; value: string })
  | (Base & { kind: 'onbuild'; expression: string })
  | (Base & { kind: 'shell'; shell: string[] })
  | (Base & {
      kind: 'healthcheck';
      test: string[];
      interval?: string;
      timeout?: string;
      startPeriod?: string;
      startInterval?: string;
      retries?: string;
    });

export interface Stage {
  /** Position among the stages (what `--from=0` names). */
  index: number;
  name?: string;
  from: Instruction & { kind: 'from' };
  commands: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM. */
  metaArgs: (Instruction & { kind: 'arg' })[];
  stages: Stage[];
  escape: '\\' | '`';
}

const ALLOWED_FLAGS: Record<string, string[]> = {
  from: ['platform'],
  run: ['mount', 'network', 'security'],
  copy: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  add: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  healthcheck: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

function fail(n: Node, msg: string): never {
  throw new DockerfileParseError(msg, n.line);
}

/** `--name=value` flags; `--link` alone is true. Unknown flags fail as BuildKit fails them. */
function flagsOf(n: Node): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const allowed = ALLOWED_FLAGS[n.name] ?? [];
  for (const f of n.flags) {
    const body = f.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let value = eq < 0 ? 'true' : body.slice(eq + 1);
    if (/^".*"$|^'.*'$/.test(value)) value = value.slice(1, -1);
    if (!allowed.includes(name)) fail(n, `unknown flag: ${name}`);
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

function one(flags: Map<string, string[]>, name: string): string | undefined {
  const v = flags.get(name);
  return v ? v[v.length - 1] : undefined;
}

function boolFlag(n: Node, flags: Map<string, string[]>, name: string): boolean {
  const v = one(flags, name);
  if (v === undefined) return false;
  if (v === 'true' || v === '1' || v === '') return true;
  if (v === 'false' || v === '0') return false;
  fail(n, `expecting boolean value for flag ${name}, not: ${v}`);
}

function nameVal(n: Node, escape: string, cmd: string): KeyValue[] {
  const words = splitWords(n.rest, escape);
  if (words.length === 0) fail(n, `${cmd} requires at least one argument`);
  // The old form "ENV key value…": one pair, the rest of the line is the value.
  if (!words[0]!.includes('=')) {
    if (cmd === 'LABEL' || cmd === 'ENV') {
      const m = /^(\S+)\s+([\s\S]*)$/.exec(n.rest);
      if (!m || m[2]!.trim() === '') fail(n, `${cmd} must have two arguments`);
      return [{ key: m[1]!, value: m[2]!.trim() }];
    }
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i < 0) {
      if (cmd === 'ARG') return { key: w };
      fail(n, `${cmd} names can not be blank`);
    }
    if (i === 0) fail(n, `${cmd} names can not be blank`);
    return { key: w.slice(0, i), value: w.slice(i + 1) };
  });
}

function parseRunMount(n: Node, spec: string): RunMount {
  const m: RunMount = { type: 'bind', target: '', readonly: true };
  let readonlySet = false;
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? undefined : part.slice(eq + 1).trim();
    switch (k) {
      case 'type':
        if (v !== 'cache' && v !== 'bind' && v !== 'tmpfs') fail(n, `unsupported mount type "${v ?? ''}"`);
        m.type = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v ?? '';
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'from':
        m.from = v;
        break;
      case 'id':
        m.id = v;
        break;
      case 'sharing':
        m.sharing = v;
        break;
      case 'readonly':
      case 'ro':
        m.readonly = v === undefined || v === 'true';
        readonlySet = true;
        break;
      case 'rw':
      case 'readwrite':
        m.readonly = !(v === undefined || v === 'true');
        readonlySet = true;
        break;
      case 'mode':
        m.mode = Number.parseInt(v ?? '', 8);
        if (Number.isNaN(m.mode)) fail(n, `invalid mode ${v ?? ''}`);
        break;
      case 'uid':
      case 'gid': {
        const num = Number.parseInt(v ?? '', 10);
        if (Number.isNaN(num)) fail(n, `invalid ${k} ${v ?? ''}`);
        m[k] = num;
        break;
      }
      default:
        fail(n, `unexpected key '${k}' in '${part}'`);
    }
  }
  if (m.type === 'cache' && !readonlySet) m.readonly = false;
  if (m.type === 'tmpfs') m.readonly = false;
  if (!m.target) fail(n, 'mount destination not specified');
  return m;
}

function exactlyOne(n: Node, cmd: string): string {
  const words = splitWords(n.rest, '\\');
  if (words.length !== 1) fail(n, `${cmd} requires exactly one argument`);
  return n.rest;
}

/** One node → its instruction. */
export function toInstruction(n: Node, escape: string): Instruction {
  const base = { line: n.line, original: n.original };
  const flags = flagsOf(n);
  const CMD = n.name.toUpperCase();
  switch (n.name) {
    case 'from': {
      const w = n.rest.split(/\s+/).filter(Boolean);
      if (w.length !== 1 && !(w.length === 3 && w[1]!.toLowerCase() === 'as')) fail(n, 'FROM requires either one or three arguments');
      const stageName = w[2]?.toLowerCase();
      if (stageName !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(stageName)) fail(n, `invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`);
      return { ...base, kind: 'from', image: w[0]!, stageName, platform: one(flags, 'platform') };
    }
    case 'run': {
      if (!n.rest && !n.heredocs.length) fail(n, 'RUN requires at least one argument');
      const network = one(flags, 'network');
      if (network !== undefined && network !== 'default' && network !== 'none' && network !== 'host') fail(n, `unsupported network mode "${network}"`);
      const security = one(flags, 'security');
      if (security !== undefined && security !== 'sandbox') fail(n, `unsupported security mode "${security}": --security=insecure needs an entitlement berth does not grant`);
      const mounts = (flags.get('mount') ?? []).map((s) => parseRunMount(n, s));
      return { ...base, kind: 'run', ...(n.json ? { json: n.json } : { shellCmd: n.rest }), mounts, network: network as 'default' | 'none' | 'host' | undefined, heredocs: n.heredocs };
    }
    case 'cmd':
    case 'entrypoint':
      return { ...base, kind: n.name, ...(n.json ? { json: n.json } : { shellCmd: n.rest }) };
    case 'env':
    case 'label':
      return { ...base, kind: n.name, pairs: nameVal(n, escape, CMD) };
    case 'arg': {
      const args = nameVal(n, escape, CMD);
      return { ...base, kind: 'arg', args };
    }
    case 'copy':
    case 'add': {
      const words = n.json ?? splitWords(n.rest, escape);
      if (words.length < 2 && !(words.length === 1 && n.heredocs.length)) {
        fail(n, `${CMD} requires at least two arguments, but only one was provided. Destination could not be determined`);
      }
      const chmod = one(flags, 'chmod');
      if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod) && !/^[ugoa]*[+=-][rwxXst]*(,[ugoa]*[+=-][rwxXst]*)*$/.test(chmod)) {
        fail(n, `invalid chmod parameter: ${chmod}`);
      }
      return {
        ...base,
        kind: n.name,
        sources: words.slice(0, -1),
        dest: words[words.length - 1]!,
        from: one(flags, 'from'),
        chown: one(flags, 'chown'),
        chmod,
        link: boolFlag(n, flags, 'link'),
        heredocs: n.heredocs,
        json: !!n.json,
        checksum: one(flags, 'checksum'),
      };
    }
    case 'expose':
    case 'volume': {
      const values = n.json ?? splitWords(n.rest, escape);
      if (values.length === 0) fail(n, `${CMD} requires at least one argument`);
      return { ...base, kind: n.name, values, json: !!n.json };
    }
    case 'user':
    case 'workdir':
    case 'stopsignal':
      return { ...base, kind: n.name, value: exactlyOne(n, CMD) };
    case 'maintainer':
      if (!n.rest) fail(n, 'MAINTAINER requires exactly one argument');
      return { ...base, kind: 'maintainer', value: n.rest };
    case 'onbuild': {
      const inner = /^(\S+)/.exec(n.rest)?.[1]?.toUpperCase();
      if (!inner) fail(n, 'ONBUILD requires at least one argument');
      if (inner === 'ONBUILD') fail(n, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (inner === 'FROM' || inner === 'MAINTAINER') fail(n, `${inner} isn't allowed as an ONBUILD trigger`);
      return { ...base, kind: 'onbuild', expression: n.rest };
    }
    case 'shell':
      if (!n.json) fail(n, 'SHELL requires the arguments to be in JSON form');
      if (n.json.length === 0) fail(n, 'SHELL requires at least one argument');
      return { ...base, kind: 'shell', shell: n.json };
    case 'healthcheck': {
      const w = /^(\S+)\s*([\s\S]*)$/.exec(n.rest);
      const typ = w?.[1]?.toUpperCase();
      if (typ === 'NONE') {
        if (w![2] || n.flags.length) fail(n, 'HEALTHCHECK NONE takes no arguments');
        return { ...base, kind: 'healthcheck', test: ['NONE'] };
      }
      if (typ !== 'CMD') fail(n, `Unknown type "${typ ?? ''}" in HEALTHCHECK (try CMD)`);
      const cmdRest = w![2]!.trim();
      if (!cmdRest) fail(n, 'Missing command after HEALTHCHECK CMD');
      // The command's own form: exec when it is a JSON array.
      let test: string[];
      try {
        const j: unknown = cmdRest.startsWith('[') ? JSON.parse(cmdRest) : undefined;
        test = Array.isArray(j) && j.every((x) => typeof x === 'string') ? ['CMD', ...(j as string[])] : ['CMD-SHELL', cmdRest];
      } catch {
        test = ['CMD-SHELL', cmdRest];
      }
      return {
        ...base,
        kind: 'healthcheck',
        test,
        interval: one(flags, 'interval'),
        timeout: one(flags, 'timeout'),
        startPeriod: one(flags, 'start-period'),
        startInterval: one(flags, 'start-interval'),
        retries: one(flags, 'retries'),
      };
    }
    default:
      fail(n, `unknown instruction: ${n.name.toUpperCase()}`);
  }
}

/** Every node checked and grouped into stages (BuildKit's instructions.Parse). */
export function toDockerfile(parsed: ParseResult): Dockerfile {
  const metaArgs: (Instruction & { kind: 'arg' })[] = [];
  const stages: Stage[] = [];
  for (const n of parsed.nodes) {
    const ins = toInstruction(n, parsed.escape);
    if (ins.kind === 'from') {
      stages.push({ index: stages.length, name: ins.stageName, from: ins, commands: [] });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (!cur) {
      if (ins.kind === 'arg') {
        metaArgs.push(ins);
        continue;
      }
      throw new DockerfileParseError('no build stage in current context', n.line);
    }
    cur.commands.push(ins);
  }
  return { metaArgs, stages, escape: parsed.escape };
}
