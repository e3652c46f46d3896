// Label sets as snapshot and listing parts carry them to a query worker: what goes in comes back,
// each distinct string crosses once, and sets left out stay left out.
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../../../shared/labels';
import { packLabelSets, unpackLabelSets } from '../../../main/tsdb/label-sets-wire';

const sets: (Labels | null)[] = [
  labelsFromRecord({ __name__: 'up', instance: 'h-1', job: 'node' }),
  null, // held by the worker already
  labelsFromRecord({ __name__: 'up', instance: 'h-2', job: 'node' }),
  [], // a set with no labels is not one left out
  labelsFromRecord({ __name__: 'node', job: 'up', 'x\u0000y': '\u{1F600}' }), // the same strings as names and values swapped
  null,
];

describe('label sets on the wire', () => {
  it('come back equal, in order, with those left out still left out', () => {
    const packed = packLabelSets(sets);
    expect([...packed.sizes]).toEqual([3, -1, 3, 0, 3, -1]);
    expect(unpackLabelSets(structuredClone(packed))).toEqual(sets);
  });

  it('carry each distinct string once, and share one label object a distinct pair', () => {
    const packed = packLabelSets(sets);
    expect(packed.strings.length).toBe(new Set(packed.strings).size);
    expect(new Set(packed.strings)).toEqual(new Set(sets.flatMap((s) => s?.flatMap((l) => [l.name, l.value]) ?? [])));
    const [a, , b, , c] = unpackLabelSets(packed);
    expect(a![0]).toBe(b![0]); // __name__="up"
    expect(a![2]).toBe(b![2]); // job="node"
    expect(a![1]).not.toBe(b![1]);
    expect(c![1]).toEqual({ name: 'job', value: 'up' });
    expect(c![1]).not.toBe(a![2]);
  });
});
