// Label matchers with Prometheus semantics: regexes fully anchored; a missing label has the value
// "", so `x=""` matches series without x. Candidates come from the most selective matcher that
// cannot match "", then every matcher is checked against each candidate's labels.
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
  let candidates: number[] | undefined;
  for (const c of compiled) {
    if (c.matches('')) continue; // matches series without the label too: no postings shortcut
    const values = head.postings.get(c.matcher.name);
    if (!values) return [];
    let ids: number[];
    if (c.matcher.type === '=') ids = values.get(c.matcher.value) ?? [];
    else {
      const lists: number[][] = [];
      for (const [v, list] of values) if (c.matches(v)) lists.push(list);
      ids = lists.length === 1 ? lists[0]! : lists.flat().sort((a, b) => a - b);
    }
    if (!candidates || ids.length < candidates.length) candidates = ids;
    if (candidates.length === 0) return [];
  }
  const out: MemSeries[] = [];
  const check = (s: MemSeries): void => {
    for (const c of compiled) if (!c.matches(getLabel(s.labels, c.matcher.name))) return;
    out.push(s);
  };
  if (candidates) {
    for (const id of candidates) {
      const s = head.get(id);
      if (s) check(s);
    }
  } else for (const s of head.all()) check(s);
  return out;
}
