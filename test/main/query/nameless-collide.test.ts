// namelessCollide (values.ts): whether label sets meet once the name goes, found by 64-bit hashes
// in a typed-array table; checked against the plain answer (a set of key strings).
import { describe, expect, it } from 'vitest';
import { namelessCollide } from '../../../main/query/values';
import { labelsFromRecord, labelsKey, type Labels } from '../../../shared/labels';

const collide = (sets: Labels[], include: (i: number) => boolean = () => true) => namelessCollide(sets.length, (i) => sets[i]!, include);

/** The plain answer: key strings of each set without __name__, __type__ and __unit__. */
function plainCollide(sets: Labels[]): boolean {
  const seen = new Set<string>();
  for (const l of sets) {
    const k = labelsKey(l.filter((x) => !['__name__', '__type__', '__unit__'].includes(x.name)));
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

describe('namelessCollide', () => {
  it('finds two names over the same other labels among many distinct sets, and only among those included', () => {
    const sets = Array.from({ length: 5000 }, (_, i) => labelsFromRecord({ __name__: `m${i % 10}`, instance: `host-${i}`, job: `job-${i % 7}` }));
    expect(collide(sets)).toBe(false);
    sets.push(labelsFromRecord({ __name__: 'other', instance: 'host-1234', job: `job-${1234 % 7}` }));
    expect(collide(sets)).toBe(true);
    expect(collide(sets, (i) => i !== 1234)).toBe(false);
  });

  it('drops the metadata labels with the name, and tells apart sets that only look alike as text', () => {
    expect(collide([labelsFromRecord({ __name__: 'a', __type__: 'counter', x: '1' }), labelsFromRecord({ __name__: 'b', x: '1' })])).toBe(true);
    expect(collide([labelsFromRecord({ __name__: 'a', __unit__: 'seconds', x: '1' }), labelsFromRecord({ __name__: 'b', x: '1', y: '2' })])).toBe(false);
    expect(collide([labelsFromRecord({ __name__: 'a', a: 'bc' }), labelsFromRecord({ __name__: 'b', ab: 'c' })])).toBe(false);
    expect(collide([labelsFromRecord({ __name__: 'a', x: '12' }), labelsFromRecord({ __name__: 'b', x: '1', y: '2' })])).toBe(false);
    expect(collide([labelsFromRecord({ __name__: 'a' }), labelsFromRecord({ __name__: 'b' })])).toBe(true);
  });

  it('agrees with the plain answer on random sets drawn from a small alphabet', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let trial = 0; trial < 300; trial++) {
      const sets: Labels[] = [];
      const n = 2 + rand(40);
      for (let i = 0; i < n; i++) {
        const r: Record<string, string> = { __name__: `m${rand(3)}` };
        if (rand(2)) r['a'] = `${rand(4)}`;
        if (rand(2)) r['b'] = `${rand(4)}`;
        if (rand(4) === 0) r['__type__'] = 'gauge';
        sets.push(labelsFromRecord(r));
      }
      // Identical full sets are one series, never two: keep the first of each.
      const distinct = [...new Map(sets.map((l) => [labelsKey(l), l])).values()];
      expect(collide(distinct), distinct.map((l) => labelsKey(l)).join(' | ')).toBe(plainCollide(distinct));
    }
  });
});
