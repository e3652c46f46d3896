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
  return seriesSelection(head, matchers).take(Infinity);
}

/**
 * The series selectSeries lists, taken a part at a time (a listing that lets remote write in
 * between): the postings are read at once, the series as taken. A series removed meanwhile is
 * skipped; one added meanwhile may be listed.
 */
export interface SeriesSelection {
  /** The matching series among the next `max` candidates (so a part's work is bounded, and a part may be empty). */
  take(max: number): MemSeries[];
  /** Every candidate was looked at (until then a part may still come out empty). */
  readonly done: boolean;
}

export function seriesSelection(head: Head, matchers: readonly Matcher[]): SeriesSelection {
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
    if (lists.length === 0) return { take: () => [], done: true };
    byPostings.push({ c, lists, size: lists.reduce((n, l) => n + l.length, 0) });
  }
  // Candidates: every id below `end`, or the ids in `ids`, or those `hits` counts all matchers for;
  // each then checked against `others`.
  let ids: readonly number[] | null = null;
  let hits: Uint8Array | null = null;
  let others = checked;
  let end = head.nextId;
  if (byPostings.length > 0) {
    byPostings.sort((a, b) => a.size - b.size);
    const smallest = byPostings[0]!;
    if (smallest.size * SPARSE < head.nextId || (byPostings.length === 1 && smallest.lists.length === 1)) {
      // Few candidates: the smallest selection's series, the other matchers checked on their labels.
      // One list is read in place: ids only grow, so a list changes between parts only by appends
      // past `end` (a removal replaces the list; Head.add re-sorts one only while a store loads).
      ids = smallest.lists.length === 1 ? smallest.lists[0]! : smallest.lists.flat().sort((a, b) => a - b);
      others = [...byPostings.slice(1).map((p) => p.c), ...checked];
      end = ids.length;
    } else {
      // Many candidates (e.g. {__name__=~".+", job=~"job-.*"}): intersect the selections by counting,
      // per series id, the matchers that selected it; no label is read and no list merged or sorted.
      const counts = new Uint8Array(head.nextId);
      byPostings.forEach(({ lists }, k) => {
        for (const list of lists) for (const id of list) if (counts[id] === k) counts[id] = k + 1;
      });
      hits = counts;
    }
  }
  const all = byPostings.length;
  let at = 0;
  return {
    take(max) {
      const out: MemSeries[] = [];
      for (const stop = Math.min(end, at + max); at < stop; ) {
        const i = at++;
        if (hits && hits[i] !== all) continue;
        const s = head.get(ids ? ids[i]! : i);
        if (!s) continue;
        if (matchesAll(s, others)) out.push(s);
      }
      return out;
    },
    get done() {
      return at >= end;
    },
  };
}

function matchesAll(s: MemSeries, matchers: readonly CompiledMatcher[]): boolean {
  for (const c of matchers) if (!c.matches(getLabel(s.labels, c.matcher.name))) return false;
  return true;
}

/** Matchers intersected by counting, at most (the counts are bytes); further ones are checked per series. */
const MAX_COUNTED = 255;
/** Below one series in this many, the smallest selection is checked series by series instead of counted. */
const SPARSE = 16;
