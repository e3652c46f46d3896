// Label keys: one string per label set, told apart for every well-formed name and value, and
// turned back into the same labels (a head snapshot sends keys to the query worker).
import { describe, expect, it } from 'vitest';
import { labelsFromKey, labelsFromRecord, labelsKey } from '../../shared/labels';

describe('label keys', () => {
  it('turn back into the labels they were made of, whatever letters the values hold', () => {
    for (const rec of [{} as Record<string, string>, { __name__: 'up' }, { __name__: 'x', a: '1ÿbþ2', b: 'π = 3.14, "quoted"', c: '😀 \n\t' }, { 'ü.name': 'ÿ', z: 'þ' }]) {
      const labels = labelsFromRecord(rec);
      expect(labelsFromKey(labelsKey(labels))).toEqual(labels);
    }
    expect(labelsKey(labelsFromRecord({ a: '1ÿbþ2' }))).not.toBe(labelsKey(labelsFromRecord({ a: '1', b: '2' })));
    expect(() => labelsFromKey('no separators')).toThrow(/not a label key/);
  });
});
