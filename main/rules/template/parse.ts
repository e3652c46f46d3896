// A parser for the subset of Go's text/template that Prometheus alert and recording templates use:
// text, {{- trim -}} markers, comments, pipelines with variables, fields, functions and literals,
// if/else if/else, range (with else, break, continue), with/else, define/template/block. Errors
// name the line (and what Go's parser would say), so a bad annotation is reported where it is.

export class TemplateParseError extends Error {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'TemplateParseError';
  }
}

export type Operand =
  | { kind: 'dot' }
  | { kind: 'field'; chain: string[] }
  | { kind: 'var'; name: string; chain: string[] }
  | { kind: 'func'; name: string }
  | { kind: 'string'; v: string }
  | { kind: 'int'; v: bigint }
  | { kind: 'float'; v: number }
  | { kind: 'bool'; v: boolean }
  | { kind: 'nil' }
  | { kind: 'pipe'; pipe: Pipe; chain: string[] };

export interface Command {
  args: Operand[];
  /** Source text, for runtime errors (`at <…>`). */
  text: string;
  line: number;
  col: number;
}

export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}

export type TNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe; line: number }
  | { kind: 'if' | 'with'; pipe: Pipe; then: TNode[]; else: TNode[] | null; line: number }
  | { kind: 'range'; pipe: Pipe; body: TNode[]; else: TNode[] | null; line: number }
  | { kind: 'template'; name: string; pipe: Pipe | null; line: number }
  | { kind: 'break' | 'continue'; line: number };

export interface ParsedTemplate {
  root: TNode[];
  defines: Map<string, TNode[]>;
}

type TokKind = 'ident' | 'field' | 'var' | 'dot' | 'string' | 'number' | 'char' | 'lparen' | 'rparen' | 'pipe' | 'declare' | 'assign' | 'comma' | 'space' | 'end';

interface Tok {
  kind: TokKind;
  text: string;
  line: number;
  col: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const SPACE = /[ \t\r\n]/;

/** Splits the source into text pieces and the token lists of the actions between them. */
function scan(src: string): ({ kind: 'text'; text: string } | { kind: 'action'; toks: Tok[]; line: number })[] {
  const out: ({ kind: 'text'; text: string } | { kind: 'action'; toks: Tok[]; line: number })[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const advanceLines = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (src[k] === '\n') { line++; lineStart = k + 1; }
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let j = open + 2;
    // `{{- ` trims the whitespace before the action.
    if (src[j] === '-' && SPACE.test(src[j + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      j += 2;
    }
    if (text) out.push({ kind: 'text', text });
    advanceLines(i, j);
    const actionLine = line;
    // Comments: {{/* … */}}, only whitespace and trim markers around them.
    let k = j;
    while (SPACE.test(src[k] ?? '')) k++;
    if (src.startsWith('/*', k)) {
      const endC = src.indexOf('*/', k + 2);
      if (endC < 0) throw new TemplateParseError(actionLine, 'unclosed comment');
      let m = endC + 2;
      let trimAfter = false;
      if (src.startsWith(' -}}', m)) { trimAfter = true; m += 4; } else if (src.startsWith('}}', m)) m += 2;
      else throw new TemplateParseError(actionLine, 'comment ends before closing delimiter');
      advanceLines(j, m);
      i = m;
      if (trimAfter) { const n = skipSpace(src, i); advanceLines(i, n); i = n; }
      continue;
    }
    const toks: Tok[] = [];
    let depth = 0;
    let closed = false;
    while (j < src.length) {
      const c = src[j]!;
      const col = j - lineStart;
      const push = (kind: TokKind, text: string) => toks.push({ kind, text, line, col });
      if (SPACE.test(c)) {
        // ` -}}` trims the whitespace after the action.
        let s = j;
        while (SPACE.test(src[s] ?? '')) s++;
        if (src.startsWith('-}}', s)) {
          advanceLines(j, s + 3);
          j = s + 3;
          const n = skipSpace(src, j);
          advanceLines(j, n);
          j = n;
          closed = true;
          break;
        }
        if (c === '\n' && depth === 0) {
          // Go allows newlines inside actions since 1.16, but not inside a bare action outside parentheses before 1.16;
          // Prometheus 2.42 builds with a newer Go, so newlines are plain space.
        }
        advanceLines(j, s);
        push('space', src.slice(j, s));
        j = s;
        continue;
      }
      if (src.startsWith('}}', j)) {
        j += 2;
        closed = true;
        break;
      }
      if (c === '(') { depth++; push('lparen', c); j++; continue; }
      if (c === ')') {
        if (depth === 0) throw new TemplateParseError(line, `unexpected right paren U+0029 ')'`);
        depth--; push('rparen', c); j++; continue;
      }
      if (c === '|') { push('pipe', c); j++; continue; }
      if (c === ',') { push('comma', c); j++; continue; }
      if (c === ':') {
        if (src[j + 1] !== '=') throw new TemplateParseError(line, 'expected :=');
        push('declare', ':='); j += 2; continue;
      }
      if (c === '=') { push('assign', c); j++; continue; }
      if (c === '"' || c === '`') {
        let e = j + 1;
        if (c === '"') {
          while (e < src.length && src[e] !== '"') {
            if (src[e] === '\n') throw new TemplateParseError(line, 'unterminated quoted string');
            e += src[e] === '\\' ? 2 : 1;
          }
          if (e >= src.length) throw new TemplateParseError(line, 'unterminated quoted string');
        } else {
          e = src.indexOf('`', j + 1);
          if (e < 0) throw new TemplateParseError(line, 'unterminated raw quoted string');
        }
        push('string', src.slice(j, e + 1));
        advanceLines(j, e + 1);
        j = e + 1;
        continue;
      }
      if (c === "'") {
        let e = j + 1;
        while (e < src.length && src[e] !== "'") {
          if (src[e] === '\n') throw new TemplateParseError(line, 'unterminated character constant');
          e += src[e] === '\\' ? 2 : 1;
        }
        push('char', src.slice(j, e + 1));
        j = e + 1;
        continue;
      }
      if (c === '$') {
        const m = /^\$[\p{L}\p{Nd}_]*/u.exec(src.slice(j))!;
        push('var', m[0]); j += m[0].length; continue;
      }
      if (c === '.') {
        const m = /^\.[\p{L}_][\p{L}\p{Nd}_]*/u.exec(src.slice(j));
        if (m) { push('field', m[0].slice(1)); j += m[0].length; continue; }
        if (/[0-9]/.test(src[j + 1] ?? '')) {
          const n = /^\.[0-9_]+(?:[eE][+-]?[0-9_]+)?/.exec(src.slice(j))!;
          push('number', n[0]); j += n[0].length; continue;
        }
        push('dot', c); j++; continue;
      }
      if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
        const m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[oObB][0-9_]+|(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?)/.exec(src.slice(j));
        if (!m || /[\p{L}\p{Nd}_.]/u.test(src[j + m[0].length] ?? '')) {
          const bad = /^[^\s()|}]*/.exec(src.slice(j))![0];
          throw new TemplateParseError(line, `bad number syntax: "${bad}"`);
        }
        push('number', m[0]); j += m[0].length; continue;
      }
      const id = /^[\p{L}_][\p{L}\p{Nd}_]*/u.exec(src.slice(j));
      if (id) { push('ident', id[0]); j += id[0].length; continue; }
      const cp = c.codePointAt(0)!;
      throw new TemplateParseError(line, `unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, '0')}${cp >= 0x20 && cp < 0x7f ? ` '${c}'` : ''}`);
    }
    if (!closed) throw new TemplateParseError(actionLine, depth > 0 ? 'unclosed left paren' : 'unclosed action');
    if (depth > 0) throw new TemplateParseError(actionLine, 'unclosed left paren');
    out.push({ kind: 'action', toks: toks.filter((t, n) => !(t.kind === 'space' && (n === 0 || n === toks.length - 1))), line: actionLine });
    i = j;
  }
  return out;
}

function skipSpace(src: string, i: number): number {
  while (SPACE.test(src[i] ?? '')) i++;
  return i;
}

export function unquoteGo(tok: string): string {
  if (tok.startsWith('`')) return tok.slice(1, -1).replace(/\r/g, '');
  const body = tok.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') { out += c; continue; }
    const n = body[++i];
    switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case 'x': case 'u': case 'U': {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new Error('invalid syntax');
        out += String.fromCodePoint(parseInt(hex, 16));
        i += len;
        break;
      }
      default:
        if (n !== undefined && /[0-7]/.test(n)) {
          const oct = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax');
          out += String.fromCharCode(parseInt(oct, 8));
          i += 2;
        } else throw new Error('invalid syntax');
    }
  }
  return out;
}

interface Scope {
  vars: string[];
}

class Parser {
  private pos = 0;
  private items: ReturnType<typeof scan> = [];
  private readonly defines = new Map<string, TNode[]>();
  private rangeDepth = 0;

  constructor(
    private readonly funcs: ReadonlySet<string>,
  ) {}

  parse(src: string): ParsedTemplate {
    this.items = scan(src);
    const scope: Scope = { vars: ['$'] };
    const { nodes, end } = this.list(scope, true);
    if (end) throw new TemplateParseError(end.line, `unexpected {{${end.word}}}`);
    return { root: nodes, defines: this.defines };
  }

  /** Parses nodes until {{end}}/{{else}} (returned) or the end of input. */
  private list(scope: Scope, top: boolean): { nodes: TNode[]; end: { word: 'end' | 'else'; toks: Tok[]; line: number } | null } {
    const nodes: TNode[] = [];
    while (this.pos < this.items.length) {
      const it = this.items[this.pos++]!;
      if (it.kind === 'text') { nodes.push({ kind: 'text', text: it.text }); continue; }
      const toks = it.toks;
      const first = toks[0];
      if (!first) throw new TemplateParseError(it.line, 'missing value for command');
      const word = first.kind === 'ident' && KEYWORDS.has(first.text) ? first.text : null;
      const rest = toks.slice(1).filter((t, n) => !(n === 0 && t.kind === 'space'));
      switch (word) {
        case 'end':
          if (rest.length) throw new TemplateParseError(it.line, `unexpected ${describe(rest[0]!)} in end`);
          return { nodes, end: { word: 'end', toks: rest, line: it.line } };
        case 'else':
          return { nodes, end: { word: 'else', toks: rest, line: it.line } };
        case 'if': case 'with': nodes.push(this.branch(word, rest, scope, it.line)); break;
        case 'range': nodes.push(this.range(rest, scope, it.line)); break;
        case 'break': case 'continue':
          if (this.rangeDepth === 0) throw new TemplateParseError(it.line, `{{${word}}} outside {{range}}`);
          if (rest.length) throw new TemplateParseError(it.line, `unexpected ${describe(rest[0]!)} in {{${word}}}`);
          nodes.push({ kind: word, line: it.line });
          break;
        case 'define': {
          if (!top) throw new TemplateParseError(it.line, 'unexpected <define> in command');
          const name = this.templateName(rest, it.line, 'define');
          if (name.rest.length) throw new TemplateParseError(it.line, `unexpected ${describe(name.rest[0]!)} in define clause`);
          const body = this.list({ vars: ['$'] }, false);
          if (body.end?.word !== 'end') throw new TemplateParseError(it.line, body.end ? 'unexpected {{else}}' : 'unexpected EOF');
          this.defines.set(name.name, body.nodes);
          break;
        }
        case 'template': case 'block': {
          const name = this.templateName(rest, it.line, word);
          const pipe = name.rest.length ? this.pipeline(name.rest, scope, it.line, false) : null;
          if (word === 'block') {
            const body = this.list({ vars: ['$'] }, false);
            if (body.end?.word !== 'end') throw new TemplateParseError(it.line, 'unexpected EOF');
            this.defines.set(name.name, body.nodes);
          }
          nodes.push({ kind: 'template', name: name.name, pipe, line: it.line });
          break;
        }
        default:
          nodes.push({ kind: 'action', pipe: this.pipeline(toks, scope, it.line, true), line: it.line });
      }
    }
    return { nodes, end: null };
  }

  private templateName(toks: Tok[], line: number, ctx: string): { name: string; rest: Tok[] } {
    const t = toks[0];
    if (!t || t.kind !== 'string') throw new TemplateParseError(line, `unexpected ${t ? describe(t) : 'EOF'} in ${ctx} clause`);
    return { name: unquoteGo(t.text), rest: toks.slice(1).filter((x, n) => !(n === 0 && x.kind === 'space')) };
  }

  private branch(kind: 'if' | 'with', toks: Tok[], scope: Scope, line: number): TNode {
    const inner: Scope = { vars: [...scope.vars] };
    const pipe = this.pipeline(toks, inner, line, true);
    const then = this.list(inner, false);
    if (!then.end) throw new TemplateParseError(line, 'unexpected EOF');
    let elseNodes: TNode[] | null = null;
    if (then.end.word === 'else') {
      const et = then.end.toks;
      if (et[0]?.kind === 'ident' && (et[0].text === 'if' || et[0].text === 'with')) {
        // {{else if …}} / {{else with …}}: an inner branch sharing this {{end}}.
        if (et[0].text !== kind && !(kind === 'if' && et[0].text === 'if') && !(kind === 'with' && et[0].text === 'with')) {
          throw new TemplateParseError(then.end.line, `expected end; found ${et[0].text}`);
        }
        elseNodes = [this.branch(et[0].text as 'if' | 'with', et.slice(1).filter((x, n) => !(n === 0 && x.kind === 'space')), scope, then.end.line)];
        return { kind, pipe, then: then.nodes, else: elseNodes, line };
      }
      if (et.length) throw new TemplateParseError(then.end.line, `unexpected ${describe(et[0]!)} in else`);
      const el = this.list({ vars: [...scope.vars] }, false);
      if (!el.end) throw new TemplateParseError(line, 'unexpected EOF');
      if (el.end.word !== 'end') throw new TemplateParseError(el.end.line, 'expected end; found {{else}}');
      elseNodes = el.nodes;
    }
    return { kind, pipe, then: then.nodes, else: elseNodes, line };
  }

  private range(toks: Tok[], scope: Scope, line: number): TNode {
    const inner: Scope = { vars: [...scope.vars] };
    const pipe = this.pipeline(toks, inner, line, true, true);
    this.rangeDepth++;
    const body = this.list(inner, false);
    this.rangeDepth--;
    if (!body.end) throw new TemplateParseError(line, 'unexpected EOF');
    let elseNodes: TNode[] | null = null;
    if (body.end.word === 'else') {
      if (body.end.toks.length) throw new TemplateParseError(body.end.line, `unexpected ${describe(body.end.toks[0]!)} in else`);
      const el = this.list({ vars: [...scope.vars] }, false);
      if (!el.end) throw new TemplateParseError(line, 'unexpected EOF');
      if (el.end.word !== 'end') throw new TemplateParseError(el.end.line, 'expected end; found {{else}}');
      elseNodes = el.nodes;
    }
    return { kind: 'range', pipe, body: body.nodes, else: elseNodes, line };
  }

  /** `[$x [, $y] :=|=] cmd | cmd …`; declared variables are added to `scope`. */
  private pipeline(toks: Tok[], scope: Scope, line: number, allowDecl: boolean, isRange = false): Pipe {
    const t = toks.filter((x) => x.kind !== 'space' || true);
    let i = 0;
    const skip = () => { while (t[i]?.kind === 'space') i++; };
    const decl: string[] = [];
    let assign = false;
    // Declarations: look ahead for `$x :=` / `$x =` / `$x, $y :=` (range only).
    const sig = t.filter((x) => x.kind !== 'space');
    if (allowDecl && sig[0]?.kind === 'var') {
      let n = 0;
      const names: string[] = [];
      let j = 0;
      while (j < sig.length && sig[j]!.kind === 'var') {
        names.push(sig[j]!.text);
        j++;
        if (sig[j]?.kind === 'comma') { j++; continue; }
        break;
      }
      const op = sig[j];
      if (op && (op.kind === 'declare' || op.kind === 'assign')) {
        if (names.length > (isRange ? 2 : 1)) throw new TemplateParseError(line, 'too many declarations in command');
        if (names.length === 2 && !isRange) throw new TemplateParseError(line, 'too many declarations in command');
        assign = op.kind === 'assign';
        for (const v of names) {
          if (assign && !scope.vars.includes(v)) throw new TemplateParseError(line, `undefined variable "${v}"`);
          decl.push(v);
        }
        // Skip past the operator in the full token list.
        for (n = 0; i < t.length && n <= j; i++) if (t[i]!.kind !== 'space') n++;
      }
    }
    const cmds: Command[] = [];
    skip();
    while (i < t.length) {
      const start = i;
      const args: Operand[] = [];
      while (i < t.length && t[i]!.kind !== 'pipe') {
        if (t[i]!.kind === 'space') { i++; continue; }
        const r = this.operand(t, i, scope, line);
        args.push(r.op);
        i = r.next;
        if (i < t.length && t[i]!.kind !== 'space' && t[i]!.kind !== 'pipe') {
          throw new TemplateParseError(line, `unexpected ${describe(t[i]!)} in operand`);
        }
      }
      if (args.length === 0) throw new TemplateParseError(line, 'missing value for command');
      const text = t.slice(start, i).map((x) => x.text).join('').trim();
      cmds.push({ args, text, line: t[start]!.line, col: t[start]!.col });
      if (t[i]?.kind === 'pipe') {
        i++;
        skip();
        if (i >= t.length) throw new TemplateParseError(line, 'missing value for command');
      }
    }
    if (cmds.length === 0) throw new TemplateParseError(line, 'missing value for command');
    cmds.slice(1).forEach((c, n) => {
      const k = c.args[0]!.kind;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'int' || k === 'float' || k === 'string') {
        throw new TemplateParseError(line, `non executable command in pipeline stage ${n + 2}`);
      }
    });
    // Declared only after the pipeline (Go: `{{$x := $x}}` refers to the outer $x).
    if (!assign) for (const v of decl) scope.vars.push(v);
    return { decl, assign, cmds };
  }

  private operand(t: Tok[], i: number, scope: Scope, line: number): { op: Operand; next: number } {
    const tok = t[i]!;
    let op: Operand;
    let next = i + 1;
    switch (tok.kind) {
      case 'dot': op = { kind: 'dot' }; break;
      case 'field': op = { kind: 'field', chain: [tok.text] }; break;
      case 'var':
        if (!scope.vars.includes(tok.text)) throw new TemplateParseError(line, `undefined variable "${tok.text}"`);
        op = { kind: 'var', name: tok.text, chain: [] };
        break;
      case 'string':
        try {
          op = { kind: 'string', v: unquoteGo(tok.text) };
        } catch {
          throw new TemplateParseError(line, `invalid syntax: ${tok.text}`);
        }
        break;
      case 'char': {
        let s: string;
        try {
          s = unquoteGo(`"${tok.text.slice(1, -1).replace(/"/g, '\\"')}"`);
        } catch {
          throw new TemplateParseError(line, `malformed character constant: ${tok.text}`);
        }
        if ([...s].length !== 1) throw new TemplateParseError(line, `malformed character constant: ${tok.text}`);
        op = { kind: 'int', v: BigInt(s.codePointAt(0)!) };
        break;
      }
      case 'number': op = number(tok.text, line); break;
      case 'ident':
        if (tok.text === 'true' || tok.text === 'false') op = { kind: 'bool', v: tok.text === 'true' };
        else if (tok.text === 'nil') op = { kind: 'nil' };
        else if (KEYWORDS.has(tok.text)) throw new TemplateParseError(line, `unexpected <${tok.text}> in command`);
        else if (!this.funcs.has(tok.text)) throw new TemplateParseError(line, `function "${tok.text}" not defined`);
        else op = { kind: 'func', name: tok.text };
        break;
      case 'lparen': {
        let depth = 1;
        let j = i + 1;
        for (; j < t.length; j++) {
          if (t[j]!.kind === 'lparen') depth++;
          else if (t[j]!.kind === 'rparen' && --depth === 0) break;
        }
        const inner = t.slice(i + 1, j);
        op = { kind: 'pipe', pipe: this.pipeline(inner, { vars: scope.vars }, line, true), chain: [] };
        next = j + 1;
        break;
      }
      default:
        throw new TemplateParseError(line, `unexpected ${describe(tok)} in operand`);
    }
    // A field chain directly after the term: `$x.Labels.job`, `(…).Value`.
    while (t[next]?.kind === 'field') {
      if (op.kind === 'var' || op.kind === 'field' || op.kind === 'pipe') op.chain.push(t[next]!.text);
      else if (op.kind === 'dot') op = { kind: 'field', chain: [t[next]!.text] };
      else throw new TemplateParseError(line, `unexpected . after term ${JSON.stringify(tok.text)}`);
      next++;
    }
    return { op, next };
  }
}

function number(text: string, line: number): Operand {
  const clean = text.replace(/_/g, '');
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/.test(clean) && !/^[+-]?0[0-9]/.test(clean)) {
    const neg = clean.startsWith('-');
    const body = clean.replace(/^[+-]/, '').replace(/^0[oO]/, '0o');
    const v = BigInt(body);
    return { kind: 'int', v: neg ? -v : v };
  }
  if (/^[+-]?0[0-7]+$/.test(clean)) {
    const neg = clean.startsWith('-');
    const v = BigInt('0o' + clean.replace(/^[+-]?0/, ''));
    return { kind: 'int', v: neg ? -v : v };
  }
  const f = Number(clean);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean) || Number.isNaN(f)) throw new TemplateParseError(line, `bad number syntax: "${text}"`);
  // Go gives an integer-valued float literal like 1e3 both kinds; as an operand it stays a float.
  return { kind: 'float', v: f };
}

function describe(t: Tok): string {
  switch (t.kind) {
    case 'rparen': return `")"`;
    case 'pipe': return `"|"`;
    case 'comma': return `","`;
    case 'declare': return `":="`;
    case 'assign': return `"="`;
    default: return `${JSON.stringify(t.text)}`;
  }
}

/** Parses `src`; every function name used must be in `funcs`. Throws TemplateParseError. */
export function parseTemplate(src: string, funcs: ReadonlySet<string>): ParsedTemplate {
  return new Parser(funcs).parse(src);
}
