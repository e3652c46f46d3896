// SeriesOrder: a select's series in label order from ranks kept between calls, checked against
// sorting each call anew with compareLabels.
import { describe, expect, it } from 'vitest';
import { SeriesOrder } from '../../../main/tsdb/series-order';
import { compareLabels, labelsKey, type Label, type Labels } from '../../../shared/labels';

/** A random label set of 0–5 labels from a small alphabet: names prefixes of each other, values that sort by code unit. */
function randomLabels(next: () => number): Labels {
  const names = ['__name__', 'a', 'ab', 'b', 'job'];
  const values = ['x', 'x1', 'X', 'é', 'ÿ', '\u{1F600}', 'x\u0000'];
  const out: Label[] = [];
  for (const name of names) if (next() < 0.5) out.push({ name, value: values[Math.floor(next() * values.length)]! });
  return out;
}

function seeded(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('SeriesOrder', () => {
  it('sorts every subset as compareLabels does while new series arrive between selects, large and small', () => {
    const next = seeded(11);
    const byId = new Map<number, Labels>();
    const seen = new Set<string>();
    const order = new SeriesOrder((id) => byId.get(id)!);
    let nextId = 1;
    const addSeries = (count: number) => {
      for (let k = 0; k < count; k++) {
        const labels = randomLabels(next);
        // Distinct ids name distinct sets, as in a store.
        if (seen.has(labelsKey(labels))) continue;
        seen.add(labelsKey(labels));
        byId.set(nextId++, labels);
      }
    };
    addSeries(60);
    for (let round = 0; round < 40; round++) {
      if (round % 3 === 0) addSeries(10);
      // Mostly large selects (merged into the order), some of a few series (sorted on their own).
      const share = round % 4 === 3 ? 0.05 : 0.7;
      const ids = [...byId.keys()].filter(() => next() < share).sort(() => next() - 0.5);
      const items = ids.map((id) => ({ id, labels: byId.get(id)! }));
      const got = order.sort(items, ids);
      const want = [...items].sort((a, b) => compareLabels(a.labels, b.labels));
      expect(got.map((x) => x.id)).toEqual(want.map((x) => x.id));
    }
    expect(byId.size).toBeGreaterThan(100);
  });

  it('sorts a small select holding a new series among many ranked ones, then ranks it with a large one', () => {
    const byId = new Map<number, Labels>();
    for (let id = 1; id <= 100; id++) byId.set(id, [{ name: 'i', value: String(id).padStart(3, '0') }]);
    const order = new SeriesOrder((id) => byId.get(id)!);
    const all = [...byId.keys()].reverse();
    expect(order.sort(all, all)).toEqual([...all].reverse());
    byId.set(101, [{ name: 'i', value: '050a' }]); // between 050 and 051
    expect(order.sort([101, 51, 50], [101, 51, 50])).toEqual([50, 101, 51]);
    const withNew = [...all, 101];
    const sorted = order.sort(withNew, withNew);
    expect(sorted.slice(48, 52)).toEqual([49, 50, 101, 51]);
    expect(order.sort([101, 51, 50], [101, 51, 50])).toEqual([50, 101, 51]);
  });

  it('keeps no order across clear(): an id may then name another label set', () => {
    const byId = new Map<number, Labels>([
      [1, [{ name: 'a', value: '1' }]],
      [2, [{ name: 'a', value: '2' }]],
    ]);
    const order = new SeriesOrder((id) => byId.get(id)!);
    expect(order.sort(['one', 'two'], [1, 2])).toEqual(['one', 'two']);
    byId.set(1, [{ name: 'a', value: '3' }]);
    order.clear();
    expect(order.sort(['three', 'two'], [1, 2])).toEqual(['two', 'three']);
  });

  it('takes an id given twice in one call once into its order', () => {
    const byId = new Map<number, Labels>([
      [5, [{ name: 'a', value: '2' }]],
      [9, [{ name: 'a', value: '1' }]],
    ]);
    const order = new SeriesOrder((id) => byId.get(id)!);
    expect(order.sort(['p', 'q', 'r'], [5, 9, 5])).toEqual(['q', 'p', 'r']);
    expect(order.sort(['q', 'p'], [9, 5])).toEqual(['q', 'p']);
  });
});
