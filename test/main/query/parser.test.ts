// Parser and printer: Prometheus's binding of postfix modifiers, literals, Go string escapes and
// the type-check error texts; printing parses back to the same text.
import { describe, expect, it } from 'vitest';
import { ParseError, parseExpr } from '../../../main/query/parser';
import { printExpr } from '../../../main/query/printer';

const roundTrip = (q: string): string => printExpr(parseExpr(q));
const error = (q: string): string => {
  try {
    parseExpr(q);
  } catch (e) {
    if (e instanceof ParseError) return e.message;
    throw e;
  }
  throw new Error(`${q} parsed`);
};

describe('PromQL parser', () => {
  it('binds offset, @, ranges and subqueries to the nearest operand', () => {
    expect(roundTrip('a + b offset 5m')).toBe('a + b offset 5m');
    const e = parseExpr('a + b @ 60 * 0');
    expect(e.kind).toBe('binary');
    if (e.kind !== 'binary') return;
    expect(e.op).toBe('+');
    expect(e.rhs.kind === 'binary' && e.rhs.op).toBe('*');
    const u = parseExpr('-x offset 1m');
    expect(u.kind === 'unary' && u.expr.kind === 'vector' && u.expr.offset).toBe(60_000);
    expect(error('-x[5m:]')).toBe('unary expression only allowed on expressions of type scalar or instant vector');
    const m = parseExpr('rate(x[5m] offset -1m @ end())');
    expect(roundTrip('rate(x[5m] offset -1m @ end())')).toBe('rate(x[5m] offset -1m @ end())');
    expect(m.kind === 'call' && m.args[0]!.kind).toBe('matrix');
  });

  it('reads literals and durations', () => {
    const num = (q: string): number => {
      const e = parseExpr(q);
      if (e.kind !== 'number') throw new Error(q);
      return e.value;
    };
    expect(num('0x1F')).toBe(31);
    expect(num('1e3')).toBe(1000);
    expect(num('-Inf')).toBe(-Infinity);
    expect(Number.isNaN(num('NaN'))).toBe(true);
    expect(num('2.')).toBe(2);
    expect(num('1h30m')).toBe(5400);
    const sq = parseExpr('x[1h:]');
    expect(sq.kind === 'subquery' && [sq.range, sq.step]).toEqual([3_600_000, 0]);
  });

  it('unquotes Go escapes, keeping invalid bytes distinguishable', () => {
    const str = (q: string): string => {
      const e = parseExpr(q);
      if (e.kind !== 'string') throw new Error(q);
      return e.value;
    };
    expect(str('"a\\tb\\u00e9\\x41"')).toBe('a\tbéA');
    expect(str('`raw\\n`')).toBe('raw\\n');
    expect(roundTrip('"a\\xc5z"')).toBe('"a\\xc5z"');
  });

  it('reports Prometheus type errors', () => {
    expect(error('rate(x)')).toBe('expected type range vector in call to function "rate", got instant vector');
    expect(error('sum(x[5m])')).toBe('expected type instant vector in aggregation expression, got range vector');
    expect(error('1 > 2')).toBe('comparisons between scalars must use BOOL modifier');
    expect(error('x and 1')).toBe('set operator "and" not allowed in binary scalar expression');
    expect(error('{}')).toBe('vector selector must contain at least one non-empty matcher');
    expect(error('label_join(x)')).toBe('expected at least 3 argument(s) in call to "label_join", got 1');
    expect(error('round(x, 1, 2)')).toBe('expected at most 2 argument(s) in call to "round", got 3');
    expect(error('(x + y)[5m]')).toBe('ranges only allowed for vector selectors');
    expect(error('sum(')).toMatch(/^unexpected/);
  });

  it('accepts RE2 inline flags in matchers', () => {
    expect(roundTrip('x{a=~"(?i:ab)c"}')).toBe('x{a=~"(?i:ab)c"}');
  });
});
