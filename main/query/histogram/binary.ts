// Binary operators where a native histogram is involved, after Prometheus's vectorElemBinop:
// histogram * scalar, scalar * histogram and histogram / scalar scale it; histogram ± histogram
// adds or subtracts (the difference is a gauge); == and != compare exactly; anything else drops
// the element with an info annotation.
import type { BinaryOp } from '../ast';
import type { FloatHistogram } from '../../tsdb/histogram';
import { IncompatibleSchemaError, add, compact, div, equals, mul, sub, trimBuckets, withHint } from './ops';

/** The native-histogram trim operators. */
export const isTrim = (op: BinaryOp): boolean => op === '</' || op === '>/';

export interface ElemResult {
  f: number;
  h?: FloatHistogram;
  keep: boolean;
  /** Annotations to report (kind and text without the "PromQL …:" prefix). */
  notes: { kind: 'info' | 'warn'; msg: string }[];
}

const kindOf = (h: FloatHistogram | undefined): string => (h ? 'histogram' : 'float');

function incompatible(op: BinaryOp, lh: FloatHistogram | undefined, rh: FloatHistogram | undefined): ElemResult {
  return {
    f: 0, keep: false,
    notes: [{ kind: 'info', msg: `incompatible sample types encountered for binary operator ${JSON.stringify(op)}: ${kindOf(lh)} ${op} ${kindOf(rh)}` }],
  };
}

/** One element pair where at least one side is a histogram. Dropped elements have keep false. */
export function histogramElemOp(op: BinaryOp, lf: number, rf: number, lh: FloatHistogram | undefined, rh: FloatHistogram | undefined): ElemResult {
  if (!lh && !rh) return incompatible(op, lh, rh); // only the trims come here with two floats
  if (!lh && rh) {
    if (op === '*') return { f: 0, h: compact(mul(rh, lf)), keep: true, notes: [] };
    return incompatible(op, lh, rh);
  }
  if (lh && !rh) {
    if (op === '*') return { f: 0, h: compact(mul(lh, rf)), keep: true, notes: [] };
    if (op === '/') return { f: 0, h: compact(div(lh, rf)), keep: true, notes: [] };
    if (op === '</' || op === '>/') return { f: 0, h: trimBuckets(lh, rf, op === '</'), keep: true, notes: [] };
    return incompatible(op, lh, rh);
  }
  const a = lh!, b = rh!;
  switch (op) {
    case '+':
    case '-': {
      let r;
      try {
        r = op === '+' ? add(a, b) : sub(a, b);
      } catch (e) {
        if (!(e instanceof IncompatibleSchemaError)) throw e;
        return { f: 0, keep: false, notes: [{ kind: 'warn', msg: `incompatible bucket layout encountered for binary operator ${op}` }] };
      }
      const what = op === '+' ? 'addition' : 'subtraction';
      if (r.counterResetCollision) {
        // Prometheus reports the collision as the element's error: the element is dropped.
        return { f: 0, keep: false, notes: [{ kind: 'warn', msg: `conflicting counter resets during histogram ${what}` }] };
      }
      const notes: ElemResult['notes'] = r.boundsReconciled ? [{ kind: 'info', msg: `mismatched custom buckets were reconciled during ${what}` }] : [];
      return { f: 0, h: op === '-' ? withHint(r.h, 'gauge') : r.h, keep: true, notes };
    }
    case '==':
      return { f: 0, h: a, keep: equals(a, b), notes: [] };
    case '!=':
      return { f: 0, h: a, keep: !equals(a, b), notes: [] };
    default:
      return incompatible(op, lh, rh);
  }
}
