// selectSeries against a series-by-series reference: the postings paths (a few candidates checked
// on their labels; many intersected by counting) select exactly the series every matcher accepts,
// whole or taken in parts (a listing), also when series come and go between the parts.
import { describe, expect, it } from 'vitest';
import { Head, type MemSeries } from '../../../main/tsdb/head';
import { compileMatcher, selectSeries, seriesSelection, type SeriesSelection } from '../../../main/tsdb/matchers';
import type { Matcher } from '../../../main/tsdb/types';
import { getLabel } from '../../../shared/labels';
import { lbl } from './helpers';

const m = (name: string, type: Matcher['type'], value: string): Matcher => ({ name, type, value });

function head(): Head {
  const h = new Head();
  for (let i = 1; i <= 600; i++) {
    const labels: Record<string, string> = { __name__: `metric_${i % 10}`, job: `job-${i % 20}`, instance: `host-${Math.floor(i / 10)}` };
    if (i % 3 === 0) labels.env = i % 2 ? 'prod' : 'dev';
    h.add(i, lbl(labels));
  }
  return h;
}

/** A selection's parts of `size` series, until it is done. */
function inParts(selection: SeriesSelection, size: number): MemSeries[][] {
  const parts: MemSeries[][] = [];
  while (!selection.done) parts.push(selection.take(size));
  return parts;
}

function reference(h: Head, matchers: Matcher[]): number[] {
  const compiled = matchers.map(compileMatcher);
  return [...h.all()].filter((s) => compiled.every((c) => c.matches(getLabel(s.labels, c.matcher.name)))).map((s) => s.id).sort((a, b) => a - b);
}

describe('selectSeries', () => {
  const cases: [string, Matcher[]][] = [
    ['many candidates, two regexes (counted)', [m('__name__', '=~', '.+'), m('job', '=~', 'job-.*')]],
    ['many candidates with a matcher that matches ""', [m('__name__', '=~', 'metric_[0-4]'), m('job', '=~', 'job-1.*'), m('env', '!=', 'prod')]],
    ['one narrow equality among broad regexes (checked)', [m('__name__', '=~', '.+'), m('instance', '=', 'host-7'), m('job', '!~', 'job-3')]],
    ['a label no series has', [m('__name__', '=~', '.+'), m('zone', '=~', '.+')]],
    ['a value no series has', [m('job', '=', 'job-99')]],
    ['only matchers that match ""', [m('env', '=', ''), m('job', '!=', 'job-2')]],
    ['a regex over an optional label', [m('env', '=~', 'prod|dev'), m('__name__', '=~', 'metric_.*')]],
    ['one regex over many values (counted, no sort)', [m('job', '=~', 'job-1.*')]],
    ['no matchers', []],
  ];
  for (const [what, matchers] of cases) {
    it(what, () => {
      const h = head();
      const got = selectSeries(h, matchers).map((s) => s.id);
      expect(got).toEqual(reference(h, matchers));
      if (what !== 'a label no series has' && what !== 'a value no series has') expect(got.length).toBeGreaterThan(0);
      for (const size of [1, 7, 64]) expect(inParts(seriesSelection(h, matchers), size).flat().map((s) => s.id)).toEqual(got);
    });
  }

  it('looks at most at the number of candidates asked for a part, and is done only after the last one', () => {
    const h = head();
    const counted = inParts(seriesSelection(h, [m('__name__', '=~', '.+'), m('job', '=~', 'job-.*')]), 64); // ids 0–600
    expect(counted.map((p) => p.length)).toEqual([63, ...Array<number>(8).fill(64), 25]);
    const sparse = inParts(seriesSelection(h, [m('job', '=', 'job-4'), m('env', '=', '')]), 4); // job-4: 30 candidates, 20 without env
    expect(sparse.length).toBe(8);
    expect(sparse.flat().length).toBe(20);
  });

  it('skips a series removed between parts and keeps the order when one is added, on every path', () => {
    for (const matchers of [[m('__name__', '=~', '.+'), m('job', '=~', 'job-.*')], [m('job', '=', 'job-4')], [m('env', '=', '')]]) {
      const h = head();
      const selection = seriesSelection(h, matchers);
      const first = selection.take(5).map((s) => s.id);
      const later = reference(h, matchers).filter((id) => id > first.at(-1)!);
      h.remove(h.get(later[1]!)!); // not taken yet: skipped
      h.remove(h.get(first[0]!)!); // taken already: stays taken
      h.add(601, lbl({ __name__: 'metric_1', job: 'job-4' }));
      const rest = inParts(selection, 3).flat().map((s) => s.id);
      expect(rest).not.toContain(later[1]);
      expect(rest.filter((id) => id !== 601)).toEqual(later.filter((id) => id !== later[1]));
      expect([...first, ...rest]).toEqual([...first, ...rest].sort((a, b) => a - b));
    }
  });

  it('leaves out removed series on either path', () => {
    const h = head();
    for (const id of [3, 6, 300]) h.remove(h.get(id)!);
    for (const matchers of [[m('__name__', '=~', '.+'), m('job', '=~', 'job-.*')], [m('instance', '=', 'host-0'), m('job', '=~', '.+')]]) {
      const got = selectSeries(h, matchers).map((s) => s.id);
      expect(got).toEqual(reference(h, matchers));
      expect(got).not.toContain(3);
    }
  });
});
