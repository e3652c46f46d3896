// Executes a parsed template. Go values map to JavaScript as: string; bigint (int); number
// (float64); boolean; null (nil); undefined (a missing value, printed "<no value>"); Map (a Go map,
// iterated in key order); array (a slice); GoStruct (a struct with named fields).
import { formatGoG, typeName } from './go-format';
import type { Command, Operand, ParsedTemplate, Pipe, TNode } from './parse';

export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: Record<string, unknown>,
  ) {}
}

export class TemplateExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

export type TemplateFunc = (args: unknown[]) => unknown;

/** Go's fmt %v. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatGoG(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Map) return `map[${[...v.keys()].sort().map((k) => `${k}:${goString(v.get(k))}`).join(' ')}]`;
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (v instanceof GoStruct) return `{${Object.values(v.fields).map(goString).join(' ')}}`;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Go template truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (v instanceof Map) return v.size > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

class Break {}
class Continue {}

interface Vars {
  names: string[];
  values: unknown[];
}

/** Template output is bounded so a range over a huge query result cannot exhaust memory. */
const MAX_OUTPUT = 1 << 20;
const MAX_DEPTH = 1000;
/** Bounds the work of templates that fan out ({{template}} several times per level). */
const MAX_CALLS = 100_000;

export function execute(t: ParsedTemplate, data: unknown, funcs: ReadonlyMap<string, TemplateFunc>, name: string): string {
  let out = '';
  let depth = 0;
  let calls = 0;
  const write = (s: string) => {
    out += s;
    if (out.length > MAX_OUTPUT) throw new TemplateExecError(`template output exceeds ${MAX_OUTPUT} bytes`);
  };

  const fail = (cmd: Command | null, msg: string): never => {
    throw new TemplateExecError(cmd ? `template: ${name}:${cmd.line}:${cmd.col}: executing "${name}" at <${cmd.text}>: ${msg}` : `template: ${name}: ${msg}`);
  };

  const lookup = (vars: Vars, n: string): unknown => {
    for (let i = vars.names.length - 1; i >= 0; i--) if (vars.names[i] === n) return vars.values[i];
    return fail(null, `undefined variable: ${n}`);
  };
  const setVar = (vars: Vars, n: string, v: unknown) => {
    for (let i = vars.names.length - 1; i >= 0; i--) if (vars.names[i] === n) { vars.values[i] = v; return; }
  };

  const field = (recv: unknown, f: string, cmd: Command): unknown => {
    if (recv instanceof Map) return recv.has(f) ? recv.get(f) : zeroOfMap(recv);
    if (recv instanceof GoStruct) {
      if (f in recv.fields) return recv.fields[f];
      return fail(cmd, `can't evaluate field ${f} in type ${recv.typeName}`);
    }
    if (recv === null || recv === undefined) return undefined; // Go: a missing value, printed <no value>
    if (Array.isArray(recv)) return fail(cmd, `can't evaluate field ${f} in type ${recv.length && recv[0] instanceof GoStruct ? `template.queryResult` : '[]interface {}'}`);
    return fail(cmd, `can't evaluate field ${f} in type ${typeName(recv)}`);
  };
  const chain = (v: unknown, names: string[], cmd: Command): unknown => {
    for (const f of names) v = field(v, f, cmd);
    return v;
  };

  const operand = (op: Operand, dot: unknown, vars: Vars, cmd: Command): unknown => {
    switch (op.kind) {
      case 'dot': return dot;
      case 'field': return chain(dot, op.chain, cmd);
      case 'var': return chain(op.name === '$' ? lookup(vars, '$') : lookup(vars, op.name), op.chain, cmd);
      case 'string': return op.v;
      case 'int': return op.v;
      case 'float': return op.v;
      case 'bool': return op.v;
      case 'nil': return fail(cmd, 'nil is not a command');
      case 'pipe': return chain(pipeline(op.pipe, dot, vars), op.chain, cmd);
      case 'func': return call(op.name, [], cmd);
    }
  };

  const call = (fname: string, args: unknown[], cmd: Command): unknown => {
    const fn = funcs.get(fname)!;
    try {
      return fn(args);
    } catch (e) {
      if (e instanceof TemplateExecError) throw e;
      return fail(cmd, `error calling ${fname}: ${(e as Error).message}`);
    }
  };

  const command = (cmd: Command, dot: unknown, vars: Vars, piped: { v: unknown } | null): unknown => {
    const [first, ...rest] = cmd.args;
    if (first!.kind === 'func') {
      const args = rest.map((a) => (a.kind === 'nil' ? null : operand(a, dot, vars, cmd)));
      if (piped) args.push(piped.v);
      return call(first!.name, args, cmd);
    }
    if (rest.length || piped) {
      const what = first!.kind === 'field' || first!.kind === 'var' ? `${first!.chain[first!.chain.length - 1] ?? ''}` : '';
      if (what) return fail(cmd, `${what} is not a method but has arguments`);
      return fail(cmd, `can't give argument to non-function ${cmd.args.length ? cmd.text.split(/\s+/)[0] : ''}`);
    }
    return operand(first!, dot, vars, cmd);
  };

  function pipeline(p: Pipe, dot: unknown, vars: Vars): unknown {
    let v: { v: unknown } | null = null;
    for (const c of p.cmds) v = { v: command(c, dot, vars, v) };
    const value = v!.v;
    if (p.assign) for (const d of p.decl) setVar(vars, d, value);
    else for (const d of p.decl) { vars.names.push(d); vars.values.push(value); }
    return value;
  }

  const walk = (nodes: TNode[], dot: unknown, vars: Vars): void => {
    for (const n of nodes) {
      switch (n.kind) {
        case 'text': write(n.text); break;
        case 'action': {
          const v = pipeline(n.pipe, dot, vars);
          if (n.pipe.decl.length === 0) write(printable(v));
          break;
        }
        case 'if': case 'with': {
          const mark = vars.names.length;
          const v = pipeline(n.pipe, dot, vars);
          if (truth(v)) walk(n.then, n.kind === 'with' ? v : dot, vars);
          else if (n.else) walk(n.else, dot, vars);
          vars.names.length = mark;
          vars.values.length = mark;
          break;
        }
        case 'range': {
          const mark = vars.names.length;
          const decl = n.pipe.decl;
          const v = pipeline({ ...n.pipe, decl: [] }, dot, vars);
          const items: [unknown, unknown][] =
            v instanceof Map ? [...v.keys()].sort().map((k) => [k, v.get(k)])
            : Array.isArray(v) ? v.map((x, i) => [BigInt(i), x])
            : v === null || v === undefined ? []
            : fail(null, `range can't iterate over ${goString(v)}`);
          if (items.length === 0) {
            if (n.else) walk(n.else, dot, vars);
          } else {
            for (const [k, x] of items) {
              const inner: Vars = { names: [...vars.names], values: [...vars.values] };
              if (decl.length === 1) { inner.names.push(decl[0]!); inner.values.push(x); }
              if (decl.length === 2) { inner.names.push(decl[0]!, decl[1]!); inner.values.push(k, x); }
              try {
                walk(n.body, x, inner);
              } catch (e) {
                if (e instanceof Break) break;
                if (e instanceof Continue) continue;
                throw e;
              }
            }
          }
          vars.names.length = mark;
          vars.values.length = mark;
          break;
        }
        case 'break': throw new Break();
        case 'continue': throw new Continue();
        case 'template': {
          const body = t.defines.get(n.name);
          if (!body) fail(null, `no such template "${n.name}"`);
          // Go stops runaway recursion at a depth of 100,000; ours is lower, as JavaScript's stack is.
          if (++depth > MAX_DEPTH) fail(null, `exceeded maximum template depth (${MAX_DEPTH})`);
          if (++calls > MAX_CALLS) fail(null, `exceeded ${MAX_CALLS} template calls`);
          const d = n.pipe ? pipeline(n.pipe, dot, vars) : null;
          walk(body!, d, { names: ['$'], values: [d] });
          depth--;
          break;
        }
      }
    }
  };

  walk(t.root, data, { names: ['$'], values: [data] });
  return out;
}

function printable(v: unknown): string {
  return goString(v);
}

/** The zero value of a map's element type: "" for string maps (every map templates see). */
function zeroOfMap(m: Map<unknown, unknown>): unknown {
  for (const v of m.values()) {
    if (typeof v === 'string') return '';
    if (typeof v === 'number') return 0;
    return undefined;
  }
  return '';
}
