// Per-workspace ingest rules, applied to every label set before anything is stored: drop a label,
// or replace its value with a keyed hash (HMAC-SHA256), so series stay distinct and joinable
// without the value itself ever reaching the disk.
import { createHmac } from 'node:crypto';
import type { Labels } from '../../shared/labels';
import { METRIC_NAME } from '../../shared/labels';
import { ControlError } from '../control/types';

export interface IngestRules {
  /** Label names removed from every series. */
  readonly drop: readonly string[];
  /** Label names whose values are replaced by `hmac:` + 22 base64url characters. */
  readonly hash: readonly string[];
}

export const NO_RULES: IngestRules = { drop: [], hash: [] };

export interface CompiledRules {
  readonly rules: IngestRules;
  /** Hashes one value (memoized). */
  hashValue(name: string, value: string): string;
  readonly touched: ReadonlySet<string>;
  readonly dropped: ReadonlySet<string>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MEMO_LIMIT = 50_000;

export function validateIngestRules(rules: IngestRules): IngestRules {
  const drop = [...new Set(rules.drop)].sort();
  const hash = [...new Set(rules.hash)].sort();
  for (const n of [...drop, ...hash]) {
    if (!LABEL_NAME.test(n)) throw new ControlError('invalid', `"${n.slice(0, 64)}" is not a valid label name`, 'rules');
    if (n === METRIC_NAME) throw new ControlError('invalid', 'the metric name (__name__) cannot be dropped or hashed', 'rules');
  }
  const both = drop.filter((n) => hash.includes(n));
  if (both.length) throw new ControlError('invalid', `label ${both[0]} is both dropped and hashed; choose one`, 'rules');
  if (drop.length + hash.length > 64) throw new ControlError('invalid', 'at most 64 ingest rules per workspace', 'rules');
  return { drop, hash };
}

/** `hashKey`: the workspace's 32-byte label-hash key (kept sealed with its data key). */
export function compileIngestRules(rules: IngestRules, hashKey: Buffer): CompiledRules {
  const key = Buffer.from(hashKey);
  const memo = new Map<string, string>();
  const dropped = new Set(rules.drop);
  return {
    rules,
    dropped,
    touched: new Set([...rules.drop, ...rules.hash]),
    hashValue(name, value) {
      const k = name + '\u0000' + value;
      let h = memo.get(k);
      if (h === undefined) {
        h = 'hmac:' + createHmac('sha256', key).update(name).update('\u0000').update(value).digest().subarray(0, 16).toString('base64url');
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(k, h);
      }
      return h;
    },
  };
}

/**
 * Applies the rules to one sorted label set. Returns the same array when no rule applies (the
 * common case costs one set lookup per label), else a new sorted label set.
 */
export function applyIngestRules(labels: Labels, rules: CompiledRules | null): Labels {
  if (!rules || rules.touched.size === 0) return labels;
  let hit = false;
  for (const l of labels) {
    if (rules.touched.has(l.name)) {
      hit = true;
      break;
    }
  }
  if (!hit) return labels;
  const out: { name: string; value: string }[] = [];
  for (const l of labels) {
    if (!rules.touched.has(l.name)) out.push(l);
    else if (!rules.dropped.has(l.name)) out.push({ name: l.name, value: rules.hashValue(l.name, l.value) });
  }
  return out;
}
