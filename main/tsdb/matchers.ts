// Label matchers with Prometheus semantics: regexes fully anchored; a missing label has the value
// "", so `x=""` matches series without x. Matchers that cannot match "" select through the postings
// (label → value → series ids); the rest are checked against each selected series' labels.
import { getLabel } from '../../shared/labels';
import type { Matcher } from './types';
import type { Head, MemSeries } from './head';

export interface CompiledMatcher {
  readonly matcher: Matcher;
  matches(value: string): boolean;
}

export function compileMatcher(m: Matcher): CompiledMatcher {
  switch (m.type) {
    case '=':
      return { matcher: m, matches: (v) => v === m.value };
    case '!=':
      return { matcher: m, matches: (v) => v !== m.value };
    case '=~':
    case '!~': {
      if (m.matches) return { matcher: m, matches: m.matches };
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${m.value})$`, 's');
      } catch (e) {
        throw new SyntaxError(`invalid regular expression in matcher ${m.name}${m.type}"${m.value}": ${(e as Error).message}`);
      }
      const negate = m.type === '!~';
      return { matcher: m, matches: (v) => re.test(v) !== negate };
    }
    default:
      throw new SyntaxError(`unknown matcher type ${String((m as Matcher).type)}`);
  }
}

/** Live series matching every matcher (all series when there are none), in id order. */
export function selectSeries(head: Head, matchers: readonly Matcher[]): MemSeries[] {
  const compiled = matchers.map(compileMatcher);
  // Per matcher that cannot match "", the postings lists of the values it matches (disjoint: a
  // series has one value of a label). The others match series without the label too: checked per series.
  const byPostings: { c: CompiledMatcher; lists: number[][]; size: number }[] = [];
  const checked: CompiledMatcher[] = [];
  for (const c of compiled) {
    if (c.matches('') || byPostings.length === MAX_COUNTED) {
      checked.push(c);
      continue;
    }
    const values = head.postingsOf(c.matcher.name);
    const lists: number[][] = [];
    if (c.matcher.type === '=') {
      const p = values?.get(c.matcher.value);
      if (p) lists.push(p.ids);
    } else if (values) for (const [v, p] of values) if (c.matches(v)) lists.push(p.ids);
    if (lists.length === 0) return [];
    byPostings.push({ c, lists, size: lists.reduce((n, l) => n + l.length, 0) });
  }
  const out: MemSeries[] = [];
  const keep = (s: MemSeries, matchers: readonly CompiledMatcher[]): void => {
    for (const c of matchers) if (!c.matches(getLabel(s.labels, c.matcher.name))) return;
    out.push(s);
  };
  if (byPostings.length === 0) {
    for (const s of head.all()) keep(s, checked);
    return out;
  }
  byPostings.sort((a, b) => a.size - b.size);
  const smallest = byPostings[0]!;
  if (smallest.size * SPARSE < head.nextId || (byPostings.length === 1 && smallest.lists.length === 1)) {
    // Few candidates: the smallest selection's series, the other matchers checked on their labels.
    const ids = smallest.lists.length === 1 ? smallest.lists[0]! : smallest.lists.flat().sort((a, b) => a - b);
    const others = [...byPostings.slice(1).map((p) => p.c), ...checked];
    for (const id of ids) {
      const s = head.get(id);
      if (s) keep(s, others);
    }
    return out;
  }
  // Many candidates (e.g. {__name__=~".+", job=~"job-.*"}): intersect the selections by counting,
  // per series id, the matchers that selected it; no label is read and no list merged or sorted.
  const hits = new Uint8Array(head.nextId);
  byPostings.forEach(({ lists }, k) => {
    for (const list of lists) for (const id of list) if (hits[id] === k) hits[id] = k + 1;
  });
  const all = byPostings.length;
  for (let id = 0; id < hits.length; id++) {
    if (hits[id] !== all) continue;
    const s = head.get(id);
    if (s) keep(s, checked);
  }
  return out;
}

/** Matchers intersected by counting, at most (the counts are bytes); further ones are checked per series. */
const MAX_COUNTED = 255;
/** Below one series in this many, the smallest selection is checked series by series instead of counted. */
const SPARSE = 16;
