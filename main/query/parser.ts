// PromQL text -> our typed AST (ast.ts), with Prometheus's type checks and error texts.
// Syntax comes from @prometheus-io/lezer-promql; its grammar lets postfix modifiers (offset, @,
// [range], [range:step]) bind to a whole binary/unary expression, so we push them down to the
// rightmost operand, which is how Prometheus's own grammar binds them.
import { parser as lezer } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import type { Matcher, MatchType } from '../tsdb/types';
import {
  type AggregateOp, type BinaryOp, type DurationExpr, type Expr, type PosRange, type ValueType, type VectorMatching, type VectorSelector,
  COMPARISON_OPS, FUNCTIONS, SET_OPS, exprType,
} from './ast';
import { parseDuration, parseNumber } from './durations';
import { compilePromRegex, anchor } from './regex';
import { StringSyntaxError, clip, unquoteString } from './strings';
import { QueryError } from './values';

export class ParseError extends Error {
  constructor(
    message: string,
    readonly pos: PosRange,
    readonly query: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }

  /** Prometheus's API form: `1:5: parse error: …`. */
  describe(): string {
    return `${positionString(this.query, this.pos.start)}: parse error: ${this.message}`;
  }
}

/** 1-based line:column of a character offset, as Prometheus prints positions. */
export function positionString(query: string, offset: number): string {
  let line = 1, col = 1;
  for (let i = 0; i < offset && i < query.length; i++) {
    if (query[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `${line}:${col}`;
}

const TYPE_NAMES: Record<ValueType, string> = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' };
export const typeName = (t: ValueType): string => TYPE_NAMES[t];

const BINARY_OPS: Record<string, BinaryOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2', Eql: '==', Neq: '!=',
  Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};
const MATCH_OPS: Record<string, MatchType> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Deeper input only costs the grammar seconds before it gives up (at ~2,800 levels). */
const MAX_NESTING = 1000;

/**
 * Offset where brackets or a run of unary signs go deeper than MAX_NESTING, or -1: checked in
 * one pass before parsing. Strings and comments are skipped.
 */
function tooDeepAt(q: string): number {
  let depth = 0, signs = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < q.length && q[i] !== c; i++) if (q[i] === '\\' && c !== '`') i++;
      signs = 0;
      continue;
    }
    if (c === '#') {
      while (i < q.length && q[i] !== '\n') i++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (c === '-' || c === '+') signs++;
    else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') signs = 0;
    if (depth > MAX_NESTING || signs > MAX_NESTING) return i;
  }
  return -1;
}

export function parseExpr(query: string): Expr {
  return new Converter(query).run();
}

class Converter {
  constructor(private readonly q: string) {}

  /** Offsets of calls to min_of/max_of, which lezer knows only inside durations (see lexFixups). */
  private renamed = new Map<number, string>();
  /** Offsets of the histogram trim operators </ and >/, which lezer does not know (see lexFixups). */
  private trims = new Map<number, BinaryOp>();

  run(): Expr {
    const deep = tooDeepAt(this.q);
    if (deep >= 0) throw new ParseError(`expression nested too deeply (more than ${MAX_NESTING} levels)`, { start: deep, end: deep + 1 }, this.q);
    const { text, renamed, trims } = lexFixups(this.q);
    this.renamed = renamed;
    this.trims = trims;
    const tree = lezer.parse(text);
    tree.iterate({
      enter: (n) => {
        if (n.type.isError) {
          const at = n.from;
          const rest = this.q.slice(at).trim();
          const what = rest === '' ? 'end of input' : JSON.stringify(clip(rest.split(/\s+/)[0]!));
          throw new ParseError(`unexpected ${what}`, { start: at, end: n.to }, this.q);
        }
      },
    });
    const top = tree.topNode.firstChild;
    if (!top) throw new ParseError('no expression found in input', { start: 0, end: 0 }, this.q);
    const e = rebalance(this.expr(top));
    this.check(e);
    return e;
  }

  private err(msg: string, pos: PosRange): never {
    throw new ParseError(msg, pos, this.q);
  }

  private text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  private pos(n: SyntaxNode): PosRange {
    return { start: n.from, end: n.to };
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  private exprChildren(n: SyntaxNode): SyntaxNode[] {
    return this.children(n).filter((c) => c.type.is('Expr'));
  }

  private str(n: SyntaxNode): string {
    try {
      return unquoteString(this.text(n));
    } catch (e) {
      if (e instanceof StringSyntaxError) this.err(e.message, this.pos(n));
      throw e;
    }
  }

  private expr(n: SyntaxNode): Expr {
    const pos = this.pos(n);
    switch (n.name) {
      case 'NumberDurationLiteral': {
        // lezer folds a leading sign into the literal; PromQL's sign is a unary operator that binds
        // looser than `^` (`-1 ^ 2` is -1), so split it off here and let rebalance() place it.
        const t = this.text(n);
        const value = this.number(t.replace(/^[+-]\s*/, ''), pos);
        if (!/^[+-]/.test(t)) return { kind: 'number', value, pos };
        const digits = { start: pos.start + t.length - t.replace(/^[+-]\s*/, '').length, end: pos.end };
        return { kind: 'unary', op: t[0] as '-' | '+', expr: { kind: 'number', value, pos: digits }, pos };
      }
      case 'StringLiteral':
        return { kind: 'string', value: this.str(n), pos };
      case 'ParenExpr':
        return { kind: 'paren', expr: this.expr(this.exprChildren(n)[0]!), pos };
      case 'UnaryExpr': {
        const op = this.text(n.firstChild!) as '-' | '+';
        // Folded into a number literal (as Prometheus does) by rebalance(), once precedence is known.
        return { kind: 'unary', op, expr: this.expr(this.exprChildren(n)[0]!), pos };
      }
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector': {
        const [inner] = this.exprChildren(n);
        const rangeNode = n.getChild('DurationExpr')!;
        const rangeExpr = this.dynamicDuration(rangeNode);
        const range = rangeExpr ? 0 : this.durationExpr(rangeNode);
        return this.postfix(this.expr(inner!), n, (e) => {
          if (e.kind !== 'vector') this.err('ranges only allowed for vector selectors', e.pos);
          if (e.at !== null || e.atPreprocessor !== null || e.offset !== 0) {
            // `foo offset 5m [1m]` is not PromQL; offset/@ go after the range.
            this.err('no offset modifiers allowed before range', e.pos);
          }
          return { kind: 'matrix', vector: e, range, ...(rangeExpr && { rangeExpr }), pos: { start: e.pos.start, end: n.to } };
        });
      }
      case 'SubqueryExpr': {
        const [inner] = this.exprChildren(n);
        const durs = n.getChildren('DurationExpr');
        const rangeExpr = this.dynamicDuration(durs[0]!);
        const stepExpr = durs[1] ? this.dynamicDuration(durs[1]) : null;
        const range = rangeExpr ? 0 : this.durationExpr(durs[0]!);
        const step = durs[1] && !stepExpr ? this.durationExpr(durs[1]) : 0;
        return this.postfix(this.expr(inner!), n, (e) => ({
          kind: 'subquery', expr: e, range, step, at: null, atPreprocessor: null, offset: 0,
          ...(rangeExpr && { rangeExpr }), ...(stepExpr && { stepExpr }),
          pos: { start: e.pos.start, end: n.to },
        }));
      }
      case 'OffsetExpr': {
        const [inner] = this.exprChildren(n);
        const offsetNode = n.getChild('OffsetDurationExpr')!;
        const offsetExpr = this.dynamicDuration(offsetNode);
        const offset = offsetExpr ? 0 : this.durationValue(offsetNode);
        return this.postfix(this.expr(inner!), n, (e) => {
          const target = e.kind === 'matrix' ? e.vector : e;
          if (target.kind !== 'vector' && target.kind !== 'subquery') {
            this.err('offset modifier must be preceded by an instant vector selector or range vector selector or a subquery', pos);
          }
          if (target.offset !== 0 || target.offsetExpr) this.err('offset may not be set multiple times', pos);
          target.offset = offset;
          if (offsetExpr) target.offsetExpr = offsetExpr;
          return { ...e, pos: { start: e.pos.start, end: n.to } } as Expr;
        });
      }
      case 'AnchoredExpr':
      case 'SmoothedExpr': {
        const [inner] = this.exprChildren(n);
        const which = n.name === 'AnchoredExpr' ? 'anchored' : 'smoothed';
        return this.postfix(this.expr(inner!), n, (e) => {
          if (e.kind === 'subquery') this.err(`${which} modifier is not supported for subqueries`, e.pos);
          const target = e.kind === 'matrix' ? e.vector : e;
          if (target.kind !== 'vector') this.err(`${which} modifier not implemented`, e.pos);
          target[which] = true;
          if (target.anchored && target.smoothed) this.err('anchored and smoothed modifiers cannot be used together', e.pos);
          return { ...e, pos: { start: e.pos.start, end: n.to } } as Expr;
        });
      }
      case 'StepInvariantExpr': {
        const [inner] = this.exprChildren(n);
        const pre = n.getChild('AtModifierPreprocessors');
        let at: number | null = null;
        let atPreprocessor: 'start' | 'end' | null = null;
        if (pre) atPreprocessor = pre.firstChild!.name === 'AtStart' ? 'start' : 'end';
        else {
          const lit = n.getChild('NumberDurationLiteral')!;
          const secs = this.number(this.text(lit), this.pos(lit));
          if (!Number.isFinite(secs)) this.err('timestamp out of bounds for @ modifier', this.pos(lit));
          at = Math.round(secs * 1000);
        }
        return this.postfix(this.expr(inner!), n, (e) => {
          const target = e.kind === 'matrix' ? e.vector : e;
          if (target.kind !== 'vector' && target.kind !== 'subquery') {
            this.err('@ modifier must be preceded by an instant vector selector or range vector selector or a subquery', pos);
          }
          if (target.at !== null || target.atPreprocessor !== null) this.err('@ <timestamp> may not be set multiple times', pos);
          target.at = at;
          target.atPreprocessor = atPreprocessor;
          return { ...e, pos: { start: e.pos.start, end: n.to } } as Expr;
        });
      }
      case 'FunctionCall': {
        const ident = n.getChild('FunctionIdentifier')!;
        const name = this.renamed.get(ident.from) ?? this.text(ident);
        const body = n.getChild('FunctionCallBody')!;
        if (!FUNCTIONS[name]) this.err(`unknown function with name ${JSON.stringify(name)}`, pos);
        const argNodes = this.exprChildren(body);
        // info()'s second argument is a label selector: it may match the empty string, and has no name.
        const args = argNodes.map((c, i) => (name === 'info' && i === 1 ? this.infoLabelSelector(c) : this.expr(c)));
        return { kind: 'call', func: name, args, pos };
      }
      case 'AggregateExpr': {
        const op = this.text(n.getChild('AggregateOp')!).toLowerCase() as AggregateOp;
        const args = this.exprChildren(n.getChild('FunctionCallBody')!).map((c) => this.expr(c));
        const mod = n.getChild('AggregateModifier');
        const grouping = mod ? this.groupingLabels(mod.getChild('GroupingLabels')!) : [];
        const without = mod ? mod.firstChild!.name === 'Without' : false;
        const needsParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values' || op === 'limitk' || op === 'limit_ratio';
        const want = needsParam ? 2 : 1;
        if (args.length !== want) {
          this.err(`wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`, pos);
        }
        return {
          kind: 'aggregate', op, expr: args[want - 1]!, param: needsParam ? args[0]! : null, grouping, without, pos,
        };
      }
      case 'BinaryExpr':
        return this.binary(n);
      default:
        this.err(`unsupported expression ${JSON.stringify(this.text(n))}`, pos);
    }
  }

  /** Applies a postfix modifier, pushing it below binary/unary operators it wrongly wraps. */
  private postfix(e: Expr, n: SyntaxNode, apply: (e: Expr) => Expr): Expr {
    if (e.kind === 'binary') return { ...e, rhs: this.postfix(e.rhs, n, apply), pos: { start: e.pos.start, end: n.to } };
    if (e.kind === 'unary') return { ...e, expr: this.postfix(e.expr, n, apply), pos: { start: e.pos.start, end: n.to } };
    return apply(e);
  }

  private binary(n: SyntaxNode): Expr {
    const kids = this.children(n);
    const exprs = kids.filter((c) => c.type.is('Expr'));
    const opNode = kids.find((c) => c.name in BINARY_OPS);
    if (!opNode || exprs.length !== 2) this.err(`unsupported operator in ${JSON.stringify(this.text(n))}`, this.pos(n));
    const op = this.trims.get(opNode.from) ?? BINARY_OPS[opNode.name]!;
    let fillLeft: number | null = null, fillRight: number | null = null;
    const fm = kids.find((c) => c.name === 'FillModifier');
    for (const clause of fm ? this.children(fm) : []) {
      const lit = clause.getChild('NumberDurationLiteral')!;
      const v = this.number(this.text(lit), this.pos(lit));
      if (clause.name !== 'FillRightClause') fillLeft = v;
      if (clause.name !== 'FillLeftClause') fillRight = v;
    }
    const returnBool = kids.some((c) => c.name === 'BoolModifier');
    const mm = kids.find((c) => c.name === 'MatchingModifierClause');
    let matching: VectorMatching | null = null;
    if (mm) {
      const parts = this.children(mm);
      const groups = mm.getChildren('GroupingLabels');
      const on = parts[0]!.name === 'On';
      const groupNode = parts.find((c) => c.name === 'GroupLeft' || c.name === 'GroupRight');
      matching = {
        card: groupNode ? (groupNode.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many') : 'one-to-one',
        on, labels: this.groupingLabels(groups[0]!), include: groups[1] ? this.groupingLabels(groups[1]) : [], explicit: true,
        fillLeft, fillRight,
      };
    } else if (fm) {
      matching = { card: 'one-to-one', on: false, labels: [], include: [], explicit: false, fillLeft, fillRight };
    }
    return { kind: 'binary', op, lhs: this.expr(exprs[0]!), rhs: this.expr(exprs[1]!), returnBool, matching, pos: this.pos(n) };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    return this.children(n)
      .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
      .map((c) => (c.name === 'LabelName' ? this.text(c) : this.str(c.firstChild!)));
  }

  /** Prometheus's checks of info()'s label-selector argument (BypassEmptyMatcherCheck). */
  private infoLabelSelector(n: SyntaxNode): Expr {
    if (n.name !== 'VectorSelector') {
      const e = this.expr(n);
      if (exprType(e) !== 'vector') this.err(`expected type instant vector in call to function "info", got ${typeName(exprType(e))}`, e.pos);
      this.err('expected label selectors only', e.pos);
    }
    const vs = this.vectorSelector(n, true);
    if (vs.name !== '') this.err('expected label selectors only, got vector selector instead', vs.pos);
    return vs;
  }

  private vectorSelector(n: SyntaxNode, allowEmpty = false): VectorSelector {
    const pos = this.pos(n);
    const ident = n.getChild('Identifier');
    let name = ident ? this.text(ident) : '';
    const matchers: Matcher[] = [];
    const lm = n.getChild('LabelMatchers');
    if (lm) {
      for (const c of this.children(lm)) {
        if (c.name === 'QuotedLabelName') {
          const metric = this.str(c.firstChild!);
          if (name) this.err(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(metric)}`, pos);
          name = metric;
          continue;
        }
        if (c.name !== 'UnquotedLabelMatcher' && c.name !== 'QuotedLabelMatcher') continue;
        const [ln, opn, val] = this.children(c);
        const label = ln!.name === 'LabelName' ? this.text(ln!) : this.str(ln!.firstChild!);
        const type = MATCH_OPS[opn!.firstChild!.name]!;
        const value = this.str(val!);
        matchers.push(this.matcher(type, label, value, this.pos(c)));
      }
    }
    if (name) {
      if (matchers.some((m) => m.name === '__name__')) {
        this.err(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(matchers.find((m) => m.name === '__name__')!.value)}`, pos);
      }
      matchers.unshift({ type: '=', name: '__name__', value: name });
    }
    if (!allowEmpty && !matchers.some((m) => !matchesEmpty(m))) this.err('vector selector must contain at least one non-empty matcher', pos);
    return { kind: 'vector', name, matchers, at: null, atPreprocessor: null, offset: 0, pos };
  }

  private matcher(type: MatchType, name: string, value: string, pos: PosRange): Matcher {
    if (type === '=~' || type === '!~') {
      try {
        compilePromRegex(value);
      } catch (e) {
        this.err(`invalid regular expression ${JSON.stringify(clip(value))}: ${clip((e as Error).message, 300)}`, pos);
      }
      return { type, name, value: anchor(value) };
    }
    return { type, name, value };
  }

  private number(text: string, pos: PosRange): number {
    const t = text.replace(/\s+/g, '');
    const sign = t.startsWith('-') ? -1 : 1;
    const body = t.replace(/^[+-]/, '');
    const d = parseDuration(body);
    if (d !== null && /[a-z]$/i.test(body) && !/^(inf|nan)$/i.test(body)) return (sign * d) / 1000;
    const v = parseNumber(body);
    if (v === null) this.err(`bad number or duration syntax: ${JSON.stringify(text)}`, pos);
    return sign * v;
  }

  /** A duration in `[…]`: duration text, or float seconds; arithmetic allowed. */
  private durationExpr(n: SyntaxNode): number {
    const v = this.durationValue(n);
    if (!Number.isFinite(v)) this.err('duration out of range', this.pos(n));
    return v;
  }

  private durationValue(n: SyntaxNode): number {
    const kids = this.children(n);
    if (n.name === 'NumberDurationLiteralInDurationContext') {
      const t = this.text(n);
      const d = parseDuration(t);
      if (d !== null) return d;
      const v = parseNumber(t);
      if (v === null) this.err(`bad duration syntax: ${JSON.stringify(t)}`, this.pos(n));
      return Math.round(v * 1000);
    }
    if (kids.length === 1) return this.durationValue(kids[0]!);
    if (kids[0]?.name === 'UnaryOp') {
      const v = this.durationValue(kids[1]!);
      return this.text(kids[0]) === '-' ? -v : v;
    }
    if (kids.length === 3 && kids[0]!.name === 'DurationExpr') {
      const a = this.durationValue(kids[0]!), b = this.durationValue(kids[2]!);
      switch (kids[1]!.name) {
        case 'Add': return a + b;
        case 'Sub': return a - b;
        case 'Mul': return (a * b) / 1000;
        case 'Div': return (a / b) * 1000;
        case 'Mod': return a % b;
        case 'Pow': return Math.pow(a / 1000, b / 1000) * 1000;
      }
    }
    const paren = kids.find((c) => c.name === 'DurationExpr');
    if (paren && kids.length === 3) return this.durationValue(paren);
    this.err(`unsupported duration expression ${JSON.stringify(this.text(n))}`, this.pos(n));
  }

  /** A duration using step() or range(), compiled for resolveDurations; null for a constant one. */
  private dynamicDuration(n: SyntaxNode): DurationExpr | null {
    let dynamic = false;
    type Fn = (step: number, range: number) => number;
    const compile = (d: SyntaxNode): Fn => {
      const kids = this.children(d);
      switch (d.name) {
        case 'DurationStep':
          dynamic = true;
          return (step) => step;
        case 'DurationRange':
          dynamic = true;
          return (_, range) => range;
        case 'NumberDurationLiteralInDurationContext': {
          const t = this.text(d);
          const ms = parseDuration(t);
          const v = ms !== null ? ms / 1000 : parseNumber(t);
          if (v === null) this.err(`bad duration syntax: ${JSON.stringify(t)}`, this.pos(d));
          return () => v;
        }
      }
      if (kids.length === 1) return compile(kids[0]!);
      if (kids[0]?.name === 'UnaryOp') {
        const f = compile(kids[1]!);
        return this.text(kids[0]) === '-' ? (s, r) => -f(s, r) : f;
      }
      if (kids[0]?.name === 'DurationMinOf' || kids[0]?.name === 'DurationMaxOf') {
        const a = compile(kids[1]!), b = compile(kids[2]!);
        return kids[0].name === 'DurationMinOf' ? (s, r) => Math.min(a(s, r), b(s, r)) : (s, r) => Math.max(a(s, r), b(s, r));
      }
      if (kids.length === 3 && kids[1]!.name in BINARY_OPS) {
        const a = compile(kids[0]!), b = compile(kids[2]!);
        const where = `${d.from}:${d.to}`;
        switch (kids[1]!.name) {
          case 'Add': return (s, r) => a(s, r) + b(s, r);
          case 'Sub': return (s, r) => a(s, r) - b(s, r);
          case 'Mul': return (s, r) => a(s, r) * b(s, r);
          case 'Div': return (s, r) => {
            const y = b(s, r);
            if (y === 0) throw new QueryError(`${where}: division by zero`, 'bad_data');
            return a(s, r) / y;
          };
          case 'Mod': return (s, r) => {
            const y = b(s, r);
            if (y === 0) throw new QueryError(`${where}: modulo by zero`, 'bad_data');
            return a(s, r) % y;
          };
          case 'Pow': return (s, r) => Math.pow(a(s, r), b(s, r));
        }
      }
      const inner = kids.find((c) => c.name === 'DurationExpr' || c.name === 'OffsetDurationExpr');
      if (inner) return compile(inner);
      this.err(`unsupported duration expression ${JSON.stringify(this.text(d))}`, this.pos(d));
    };
    const seconds = compile(n);
    return dynamic ? { text: this.text(n).trim(), pos: this.pos(n), seconds } : null;
  }

  /** Prometheus's checkAST: operand types, argument counts, matching rules. */
  private check(e: Expr): void {
    switch (e.kind) {
      case 'number':
      case 'string':
      case 'vector':
        return;
      case 'matrix':
        return;
      case 'paren':
        return this.check(e.expr);
      case 'subquery': {
        this.check(e.expr);
        const t = exprType(e.expr);
        if (t !== 'vector') this.err(`subquery is only allowed on instant vector, got ${typeName(t)} instead`, e.pos);
        return;
      }
      case 'unary': {
        this.check(e.expr);
        const t = exprType(e.expr);
        if (t !== 'scalar' && t !== 'vector') this.err('unary expression only allowed on expressions of type scalar or instant vector', e.pos);
        return;
      }
      case 'call': {
        const def = FUNCTIONS[e.func]!;
        const n = e.args.length, min = def.argTypes.length;
        if (def.variadic === 0 && n !== min) this.err(`expected ${min} argument(s) in call to ${JSON.stringify(e.func)}, got ${n}`, e.pos);
        if (def.variadic !== 0 && n < min - 1) {
          this.err(`expected at least ${min - 1} argument(s) in call to ${JSON.stringify(e.func)}, got ${n}`, e.pos);
        }
        if (def.variadic > 0 && n > min - 1 + def.variadic) {
          this.err(`expected at most ${min - 1 + def.variadic} argument(s) in call to ${JSON.stringify(e.func)}, got ${n}`, e.pos);
        }
        e.args.forEach((a, i) => {
          this.check(a);
          const want = def.argTypes[Math.min(i, def.argTypes.length - 1)]!;
          this.expectType(a, want, `call to function ${JSON.stringify(e.func)}`);
        });
        return;
      }
      case 'aggregate': {
        this.check(e.expr);
        this.expectType(e.expr, 'vector', 'aggregation expression');
        if (e.param) {
          this.check(e.param);
          this.expectType(e.param, e.op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
        }
        return;
      }
      case 'binary': {
        this.check(e.lhs);
        this.check(e.rhs);
        const lt = exprType(e.lhs), rt = exprType(e.rhs);
        const ok = (t: ValueType) => t === 'scalar' || t === 'vector';
        if (!ok(lt) || !ok(rt)) this.err('binary expression must contain only scalar and instant vector types', e.pos);
        if (e.returnBool && !COMPARISON_OPS.has(e.op)) this.err('bool modifier can only be used on comparison operators', e.pos);
        if (COMPARISON_OPS.has(e.op) && lt === 'scalar' && rt === 'scalar' && !e.returnBool) {
          this.err('comparisons between scalars must use BOOL modifier', e.pos);
        }
        if (SET_OPS.has(e.op) && (lt === 'scalar' || rt === 'scalar')) {
          this.err(`set operator ${JSON.stringify(e.op)} not allowed in binary scalar expression`, e.pos);
        }
        if (lt === 'vector' && rt === 'vector') {
          const m = e.matching ?? { card: 'one-to-one', on: false, labels: [], include: [], explicit: false, fillLeft: null, fillRight: null };
          if (SET_OPS.has(e.op)) {
            if (m.fillLeft !== null || m.fillRight !== null) this.err('filling in missing series not allowed for set operators', e.pos);
            if (m.card === 'many-to-one' || m.card === 'one-to-many') this.err(`no grouping allowed for ${JSON.stringify(e.op)} operation`, e.pos);
            m.card = 'many-to-many';
          }
          for (const l of m.include) {
            if (m.on && m.labels.includes(l)) this.err(`label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`, e.pos);
          }
          e.matching = m;
        } else if (e.matching) {
          if (e.matching.fillLeft !== null || e.matching.fillRight !== null) this.err('filling in missing series only allowed between instant vectors', e.pos);
          this.err('vector matching only allowed between instant vectors', e.pos);
        }
        return;
      }
    }
  }

  private expectType(e: Expr, want: ValueType, context: string): void {
    const got = exprType(e);
    if (got !== want) this.err(`expected type ${typeName(want)} in ${context}, got ${typeName(got)}`, e.pos);
  }
}

const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '>': 3, '<': 3, '>=': 3, '<=': 3, '</': 3, '>/': 3, '+': 4, '-': 4,
  '*': 5, '/': 5, '%': 5, atan2: 5, '^': 6,
};

type BinaryNode = Extract<Expr, { kind: 'binary' }>;
type UnaryNode = Extract<Expr, { kind: 'unary' }>;

/**
 * Restores operator precedence around postfix modifiers and unary signs: after modifiers are
 * pushed down, a chain like `a + b @ 5 * c` may still be grouped as `(a + b@5) * c`, and lezer
 * binds a sign tighter than `^`. Flattening each unparenthesised chain into its operand/operator
 * sequence (text order, signs as prefixes of their operand) and rebuilding it by precedence fixes
 * both. A sign binds like `*` (Prometheus's `unary_op expr %prec MUL`): `-a ^ b` is `-(a ^ b)`,
 * `-a * b` is `(-a) * b`. A sign directly on a number literal folds into it.
 */
function rebalance(e: Expr): Expr {
  switch (e.kind) {
    case 'binary': case 'unary': {
      const operands: Expr[] = [];
      const prefixes: UnaryNode[][] = [];
      const ops: BinaryNode[] = [];
      const flatten = (x: Expr, pre: UnaryNode[]): void => {
        if (x.kind === 'binary') {
          flatten(x.lhs, pre);
          ops.push(x);
          flatten(x.rhs, []);
        } else if (x.kind === 'unary') flatten(x.expr, [...pre, x]);
        else {
          operands.push(rebalance(x));
          prefixes.push(pre);
        }
      };
      flatten(e, []);
      // Precedence climbing; operand k precedes operator k.
      let k = 0;
      const signsUsed: number[] = operands.map(() => 0);
      const operand = (): Expr => {
        const pre = prefixes[k]!;
        const used = signsUsed[k]!;
        if (used === pre.length) return operands[k]!;
        signsUsed[k] = used + 1;
        const u = pre[used]!;
        const inner = climb(PRECEDENCE['^']);
        const pos = { start: u.pos.start, end: inner.pos.end };
        if (inner.kind === 'number') return { kind: 'number', value: u.op === '-' ? -inner.value : inner.value, pos };
        return { kind: 'unary', op: u.op, expr: inner, pos };
      };
      const climb = (minPrec: number): Expr => {
        let lhs = operand();
        while (k < ops.length && PRECEDENCE[ops[k]!.op] >= minPrec) {
          const op = ops[k]!;
          const prec = PRECEDENCE[op.op];
          k++;
          const rhs = climb(op.op === '^' ? prec : prec + 1);
          lhs = { ...op, lhs, rhs, pos: { start: lhs.pos.start, end: rhs.pos.end } };
        }
        return lhs;
      };
      return climb(0);
    }
    case 'paren': return { ...e, expr: rebalance(e.expr) };
    case 'subquery': return { ...e, expr: rebalance(e.expr) };
    case 'call': return { ...e, args: e.args.map(rebalance) };
    case 'aggregate': return { ...e, expr: rebalance(e.expr), param: e.param ? rebalance(e.param) : null };
    default: return e;
  }
}

/**
 * Position-preserving rewrites for syntax the lezer grammar lacks (so annotation positions stay
 * right): PromQL accepts `2.` as a number (the dot becomes a space), and min_of/max_of as
 * functions outside durations (renamed to the same-length `absent`, remembered by offset).
 */
function lexFixups(q: string): { text: string; renamed: Map<number, string>; trims: Map<number, BinaryOp> } {
  const renamed = new Map<number, string>();
  const trims = new Map<number, BinaryOp>();
  let out = '';
  let brackets = 0, parens = 0;
  // Paren depth outside the min_of/max_of call that began an offset's duration expression.
  let offsetCall: number | null = null;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '[') brackets++;
    if (c === ']') brackets--;
    if (c === '(') parens++;
    if (c === ')' && --parens <= (offsetCall ?? -1)) offsetCall = null;
    const wordStart = !/[a-zA-Z0-9_:]/.test(q[i - 1] ?? '');
    // Duration keywords are case-insensitive in Prometheus's lexer; lezer knows them in lower case.
    const kw = wordStart ? /^(step|range|min_of|max_of)\s*\(/i.exec(q.slice(i, i + 20)) : null;
    const inDuration = kw !== null &&
      (brackets > 0 || offsetCall !== null || /(^|[^a-zA-Z0-9_:])offset[\s(+-]*$/i.test(q.slice(Math.max(0, i - 40), i)));
    if (kw && inDuration) {
      if (brackets === 0 && offsetCall === null) offsetCall = parens;
      out += kw[1]!.toLowerCase();
      i += kw[1]!.length - 1;
      continue;
    }
    const fn = brackets === 0 && wordStart ? /^(min_of|max_of)\s*\(/.exec(q.slice(i, i + 20)) : null;
    if (fn) {
      renamed.set(i, fn[1]!);
      out += 'absent';
      i += 5;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < q.length && q[j] !== c) j += q[j] === '\\' && c !== '`' ? 2 : 1;
      out += q.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '.' && /[0-9]/.test(q[i - 1] ?? '') && !/[0-9a-zA-Z_]/.test(q[i + 1] ?? '')) {
      let k = i - 1;
      while (k >= 0 && /[0-9]/.test(q[k]!)) k--;
      if (k < 0 || !/[a-zA-Z_:.]/.test(q[k]!)) {
        out += ' ';
        continue;
      }
    }
    // The histogram trim operators bind like comparisons: lezer reads them as <= and >=.
    if ((c === '<' || c === '>') && q[i + 1] === '/') {
      trims.set(i, c === '<' ? '</' : '>/');
      out += `${c}=`;
      i++;
      continue;
    }
    out += c;
  }
  return { text: out, renamed, trims };
}

function matchesEmpty(m: Matcher): boolean {
  switch (m.type) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return compilePromRegex(m.value.slice(4, -2)).test('');
    case '!~': return !compilePromRegex(m.value.slice(4, -2)).test('');
  }
}

/**
 * Sets the durations written with step() or range() for one query, as Prometheus's
 * durationVisitor: seconds truncated to ms; ranges and steps must be positive, offsets finite.
 */
export function resolveDurations(e: Expr, stepMs: number, rangeMs: number): void {
  const ms = (d: DurationExpr, negativeOk: boolean): number => {
    const v = d.seconds(stepMs / 1000, rangeMs / 1000);
    const where = `${d.pos.start}:${d.pos.end}`;
    if (!Number.isFinite(v)) throw new QueryError(`${where}: duration is NaN or infinite`, 'bad_data');
    if (v <= 0 && !negativeOk) throw new QueryError(`${where}: duration must be greater than 0`, 'bad_data');
    if (Math.abs(v) > 2 ** 63 / 1e9) throw new QueryError(`${where}: duration is out of range`, 'bad_data');
    return Math.trunc(v * 1000);
  };
  const visit = (x: Expr): void => {
    switch (x.kind) {
      case 'vector':
        if (x.offsetExpr) x.offset = ms(x.offsetExpr, true);
        return;
      case 'matrix':
        if (x.rangeExpr) x.range = ms(x.rangeExpr, false);
        return visit(x.vector);
      case 'subquery':
        if (x.offsetExpr) x.offset = ms(x.offsetExpr, true);
        if (x.rangeExpr) x.range = ms(x.rangeExpr, false);
        if (x.stepExpr) x.step = ms(x.stepExpr, false);
        return visit(x.expr);
      case 'paren': case 'unary': return visit(x.expr);
      case 'call': return x.args.forEach(visit);
      case 'aggregate':
        visit(x.expr);
        if (x.param) visit(x.param);
        return;
      case 'binary':
        visit(x.lhs);
        return visit(x.rhs);
      default:
        return;
    }
  };
  visit(e);
}
