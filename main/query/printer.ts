// AST -> PromQL text that parses back to the same tree (used for the @-rewritten step-invariance
// queries and the API's format_query).
import type { Expr, TimeModifiers, VectorSelector } from './ast';
import { formatDuration } from './durations';
import { quoteGo, isLegacyLabelName, isLegacyMetricName } from './strings';
import { unanchor } from './regex';

export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'number': return formatNumber(e.value);
    case 'string': return quoteGo(e.value);
    case 'vector': return printSelector(e) + extended(e) + printModifiers(e);
    case 'matrix': return `${printSelector(e.vector)}[${e.rangeExpr?.text ?? formatDuration(e.range)}]${extended(e.vector)}${printModifiers(e.vector)}`;
    case 'subquery':
      return `${printExpr(e.expr)}[${e.rangeExpr?.text ?? formatDuration(e.range)}:${e.stepExpr?.text ?? (e.step ? formatDuration(e.step) : '')}]${printModifiers(e)}`;
    case 'call': return `${e.func}(${e.args.map(printExpr).join(', ')})`;
    case 'aggregate': {
      const grouping = e.without || e.grouping.length ? ` ${e.without ? 'without' : 'by'} (${e.grouping.map(printLabelName).join(', ')}) ` : '';
      const args = e.param ? `${printExpr(e.param)}, ${printExpr(e.expr)}` : printExpr(e.expr);
      return `${e.op}${grouping}(${args})`;
    }
    case 'binary': {
      let mods = e.returnBool ? ' bool' : '';
      const m = e.matching;
      if (m && (m.explicit || m.labels.length)) {
        mods += ` ${m.on ? 'on' : 'ignoring'}(${m.labels.map(printLabelName).join(', ')})`;
        if (m.card === 'many-to-one' || m.card === 'one-to-many') {
          mods += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'}(${m.include.map(printLabelName).join(', ')})`;
        }
      }
      if (m && m.fillLeft !== null && m.fillRight !== null && Object.is(m.fillLeft, m.fillRight)) mods += ` fill(${formatNumber(m.fillLeft)})`;
      else {
        if (m && m.fillLeft !== null) mods += ` fill_left(${formatNumber(m.fillLeft)})`;
        if (m && m.fillRight !== null) mods += ` fill_right(${formatNumber(m.fillRight)})`;
      }
      return `${printExpr(e.lhs)} ${e.op}${mods} ${printExpr(e.rhs)}`;
    }
    case 'unary': return `${e.op}${printExpr(e.expr)}`;
    case 'paren': return `(${printExpr(e.expr)})`;
  }
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function printLabelName(n: string): string {
  return isLegacyLabelName(n) ? n : quoteGo(n);
}

function printSelector(vs: VectorSelector): string {
  const rest = vs.matchers.filter((m) => !(vs.name && m.name === '__name__' && m.type === '=' && m.value === vs.name));
  const body = rest.map((m) => {
    const v = m.type === '=~' || m.type === '!~' ? unanchor(m.value) : m.value;
    return `${printLabelName(m.name)}${m.type}${quoteGo(v)}`;
  });
  if (vs.name && !isLegacyMetricName(vs.name)) body.unshift(quoteGo(vs.name));
  const name = vs.name && isLegacyMetricName(vs.name) ? vs.name : '';
  return body.length || !name ? `${name}{${body.join(', ')}}` : name;
}

/** Prometheus prints the extended range selector modifier before @ and offset. */
const extended = (vs: VectorSelector): string => (vs.anchored ? ' anchored' : vs.smoothed ? ' smoothed' : '');

function printModifiers(m: TimeModifiers): string {
  let out = '';
  if (m.offsetExpr) out += ` offset ${m.offsetExpr.text}`;
  else if (m.offset > 0) out += ` offset ${formatDuration(m.offset)}`;
  else if (m.offset < 0) out += ` offset -${formatDuration(-m.offset)}`;
  if (m.atPreprocessor) out += ` @ ${m.atPreprocessor}()`;
  else if (m.at !== null) out += ` @ ${(m.at / 1000).toFixed(3)}`;
  return out;
}
